import * as grpc from '@grpc/grpc-js';
import { REAPI_PACKAGE, serviceClient } from '../../src/reapi/proto.js';

/** The services a fake farm may implement, by the short names tests use. */
const SERVICES = {
  capabilities: `${REAPI_PACKAGE}.Capabilities`,
  cas: `${REAPI_PACKAGE}.ContentAddressableStorage`,
  ac: `${REAPI_PACKAGE}.ActionCache`,
  execution: `${REAPI_PACKAGE}.Execution`,
  byteStream: 'google.bytestream.ByteStream',
  operations: 'google.longrunning.Operations',
} as const;

export type FakeHandlers = Partial<Record<keyof typeof SERVICES, grpc.UntypedServiceImplementation>>;

export interface FakeServer {
  /** grpc://127.0.0.1:<port> */
  endpoint: string;
  /** The metadata of every call, in order, with the method's path. */
  calls: { path: string; metadata: grpc.Metadata }[];
  close(): Promise<void>;
}

/** Capabilities of a small sha256 CAS with the given batch limit (0 = none of its own). */
export function capabilitiesHandler(maxBatchTotalSizeBytes = 0): grpc.UntypedServiceImplementation {
  return {
    GetCapabilities: (_call: grpc.ServerUnaryCall<object, object>, cb: grpc.sendUnaryData<object>) =>
      cb(null, {
        cacheCapabilities: { digestFunctions: ['SHA256'], maxBatchTotalSizeBytes, actionCacheUpdateCapabilities: { updateEnabled: true } },
        executionCapabilities: { digestFunction: 'SHA256', execEnabled: true },
        lowApiVersion: { major: 2 },
        highApiVersion: { major: 2, minor: 3 },
      }),
  };
}

/**
 * A gRPC server on 127.0.0.1 (ephemeral port) speaking kiln's REAPI .proto files with the given
 * handlers (methods by their proto names, e.g. `BatchReadBlobs`). A fake for the client's own
 * logic (verification, retries, resumption, cancellation); the real farm is tested in
 * buildbarn.test.ts.
 */
export async function startFakeServer(handlers: FakeHandlers): Promise<FakeServer> {
  const server = new grpc.Server();
  const calls: FakeServer['calls'] = [];
  for (const [name, impl] of Object.entries({ capabilities: capabilitiesHandler(), ...handlers })) {
    const definition = serviceClient(SERVICES[name as keyof typeof SERVICES]).service;
    const recorded: grpc.UntypedServiceImplementation = {};
    for (const [method, fn] of Object.entries(impl)) {
      const path = definition[method]?.path ?? method;
      recorded[method] = ((call: { metadata: grpc.Metadata }, ...rest: unknown[]) => {
        calls.push({ path, metadata: call.metadata });
        return (fn as (...a: unknown[]) => unknown)(call, ...rest);
      }) as grpc.UntypedHandleCall;
    }
    server.addService(definition, recorded);
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    endpoint: `grpc://127.0.0.1:${port}`,
    calls,
    close: async () => server.forceShutdown(),
  };
}

export function grpcError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}
