import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DebInputSpec, PathInputSpec, UrlInputSpec } from '../../src/recipe/types.js';

export const where = { file: '/r/kiln.yaml', line: 7, column: 3 };

export function sri(data: string | Uint8Array, algorithm = 'sha256'): string {
  return `${algorithm}-${createHash(algorithm).update(data).digest('base64')}`;
}

export function urlSpec(name: string, url: string, integrity: string, unpack = false): UrlInputSpec {
  return { kind: 'url', name, url, integrity, unpack, where };
}

export function pathSpec(name: string, path: string, integrity: string, unpack = false): PathInputSpec {
  return { kind: 'path', name, path, integrity, unpack, where };
}

export function debSpec(name: string, pkg: string, version: string, integrity: string): DebInputSpec {
  return { kind: 'deb', name, package: pkg, version, arch: 'amd64', integrity, unpack: false, where };
}

export interface TestServer {
  url: string;
  /** Requests seen, by path. */
  hits: string[];
  close: () => Promise<void>;
}

/** An HTTP server on 127.0.0.1 with one handler per path; unknown paths answer 404. */
export async function startServer(routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void>): Promise<TestServer> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const route = routes[req.url ?? ''];
    if (route) route(req, res);
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
