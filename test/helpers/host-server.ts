import { createServer } from 'node:http';

/** An HTTP server on every host address that counts the requests it answers: what a network probe step tries to reach. */
export interface HostServer {
  port: number;
  /** Requests answered since start or the last reset(). */
  requests(): number;
  reset(): void;
  close(): Promise<void>;
}

export async function startHostServer(): Promise<HostServer> {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    requests: () => requests,
    reset: () => {
      requests = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
