import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { kilnVersion } from '../util/package.js';
import { parseEndpoint, type ReapiEndpoint } from './endpoint.js';
import { ReapiError } from './errors.js';
import type { ServerCapabilities } from './messages.js';
import { encode, REAPI_PACKAGE, serviceClient } from './proto.js';
import { abortedError, DEFAULT_RETRY, type RetryOptions, withRetries } from './retry.js';

/** TLS material for a grpcs:// endpoint, PEM. Without `ca` the system's roots are trusted. */
export interface ReapiTlsOptions {
  ca?: string | Buffer;
  /** Client certificate and key, for farms that want mutual TLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface ReapiClientOptions {
  /** `grpc://host:port[/instance]` or `grpcs://host[:port][/instance]`. */
  endpoint: string;
  tls?: ReapiTlsOptions;
  /** Sent with every call (e.g. an API key header a farm asks for). Keys are lowercased. */
  headers?: Record<string, string>;
  /** Sent as `authorization: Bearer <token>`; refused over plaintext unless `allowInsecureAuth`. */
  bearerToken?: string;
  allowInsecureAuth?: boolean;
  /** Deadline of each unary call (default 60 s); a ByteStream attempt gets a second more per MiB. */
  deadlineMs?: number;
  retry?: Partial<RetryOptions>;
  /** Ceiling on one BatchUpdateBlobs/BatchReadBlobs request, below the server's own (default 4 MiB). */
  maxBatchBytes?: number;
  /** Size of one ByteStream message (default 1 MiB). */
  chunkBytes?: number;
  /** Sent in RequestMetadata so a farm can group this client's calls (default: a random UUID). */
  toolInvocationId?: string;
}

/** Per-call options every client method takes. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's deadline for this call. */
  deadlineMs?: number;
}

/** gRPC metadata key of RequestMetadata (REAPI v2, "RequestMetadata"). */
export const REQUEST_METADATA_KEY = 'build.bazel.remote.execution.v2.requestmetadata-bin';

const DEFAULT_DEADLINE_MS = 60_000;
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;
const DEFAULT_CHUNK_BYTES = 1024 * 1024;
/** Room left in a batch for the request's own fields (instance name, digests, tags). */
const BATCH_ENVELOPE_BYTES = 64 * 1024;
/** What one received message may weigh: a full batch and its framing. */
const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

type Stub = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** The wiring every REAPI operation shares: one channel, the stubs, metadata, deadlines, retries. */
export interface Connection {
  readonly endpoint: ReapiEndpoint;
  readonly instanceName: string;
  readonly retry: RetryOptions;
  readonly deadlineMs: number;
  readonly chunkBytes: number;
  readonly stubs: {
    cas: Stub;
    ac: Stub;
    execution: Stub;
    capabilities: Stub;
    byteStream: Stub;
    operations: Stub;
  };
  metadata(): grpc.Metadata;
  deadline(options?: CallOptions): Date;
  /** A ByteStream attempt's deadline: the call deadline plus a second per MiB (at least 1 MiB/s). */
  transferDeadline(sizeBytes: number, options?: CallOptions): Date;
  /** One unary call with deadline, cancellation, retries and errors mapped to ReapiError. */
  unary<Res>(stub: Stub, method: string, request: object, rpc: string, options?: CallOptions): Promise<Res>;
  capabilities(options?: CallOptions): Promise<ServerCapabilities>;
  /** Largest total of blob bytes one batch request may carry here (server's and client's ceilings). */
  batchLimit(options?: CallOptions): Promise<number>;
  close(): void;
}

function credentials(endpoint: ReapiEndpoint, tls: ReapiTlsOptions | undefined): grpc.ChannelCredentials {
  if (!endpoint.tls) {
    if (tls) throw new ReapiError('KILN_REAPI_BAD_ENDPOINT', `TLS options given for the plaintext endpoint grpc://${endpoint.address}`, { hint: 'use grpcs://' });
    return grpc.credentials.createInsecure();
  }
  const pem = (v: string | Buffer | undefined) => (v === undefined ? null : Buffer.from(v));
  if ((tls?.cert === undefined) !== (tls?.key === undefined)) {
    throw new ReapiError('KILN_REAPI_BAD_ENDPOINT', 'a TLS client certificate needs its key, and a key its certificate');
  }
  return grpc.credentials.createSsl(pem(tls?.ca), pem(tls?.key), pem(tls?.cert));
}

function requestMetadataBytes(toolInvocationId: string): Buffer {
  return encode(`${REAPI_PACKAGE}.RequestMetadata`, {
    toolDetails: { toolName: 'kiln', toolVersion: kilnVersion() },
    toolInvocationId,
  });
}

/** Maps a grpc-js error (or anything thrown around a call) to the REAPI family. */
export function toReapiError(err: unknown, rpc: string, signal?: AbortSignal): ReapiError {
  if (err instanceof ReapiError) return err;
  if (signal?.aborted) return abortedError(signal, rpc);
  const code = (err as { code?: unknown }).code;
  const details = (err as { details?: unknown }).details;
  const text = typeof details === 'string' && details !== '' ? details : (err as Error).message;
  const options = { cause: err, rpc, grpcCode: typeof code === 'number' ? code : undefined };
  switch (code) {
    case grpc.status.DEADLINE_EXCEEDED:
      return new ReapiError('KILN_REAPI_DEADLINE', `${rpc}: deadline exceeded (${text})`, options);
    case grpc.status.UNAVAILABLE:
    case grpc.status.RESOURCE_EXHAUSTED:
      return new ReapiError('KILN_REAPI_UNAVAILABLE', `${rpc}: server unavailable (${text})`, options);
    case grpc.status.NOT_FOUND:
      return new ReapiError('KILN_REAPI_NOT_FOUND', `${rpc}: not found (${text})`, options);
    case grpc.status.UNIMPLEMENTED:
      return new ReapiError('KILN_REAPI_UNSUPPORTED', `${rpc}: not implemented by the server (${text})`, options);
    default:
      return new ReapiError('KILN_REAPI_RPC', `${rpc}: ${typeof code === 'number' ? `${grpc.status[code] ?? code}: ` : ''}${text}`, options);
  }
}

export function createConnection(options: ReapiClientOptions): Connection {
  const endpoint = parseEndpoint(options.endpoint);
  const headers = Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v] as const);
  for (const [k] of headers) {
    if (!/^[0-9a-z_.-]+$/.test(k) || k.endsWith('-bin')) throw new ReapiError('KILN_REAPI_BAD_ENDPOINT', `header name ${JSON.stringify(k)} is not a plain gRPC metadata key`);
  }
  if (options.bearerToken !== undefined) {
    if (!endpoint.tls && !options.allowInsecureAuth) {
      throw new ReapiError('KILN_REAPI_BAD_ENDPOINT', `a bearer token would travel in clear text to grpc://${endpoint.address}`, { hint: 'use grpcs://, or allowInsecureAuth for a trusted local network' });
    }
    headers.push(['authorization', `Bearer ${options.bearerToken}`]);
  }
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...options.retry };
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const requestMetadata = requestMetadataBytes(options.toolInvocationId ?? randomUUID());

  const channelOptions: grpc.ClientOptions = {
    'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
    'grpc.max_send_message_length': MAX_RECEIVE_BYTES,
    // No keepalive pings: grpc-go servers (Buildbarn) close a connection that pings more often
    // than every 5 minutes (ENHANCE_YOUR_CALM), which would break a long Execute wait.
  };
  const creds = credentials(endpoint, options.tls);
  const Cas = serviceClient(`${REAPI_PACKAGE}.ContentAddressableStorage`);
  const cas = new Cas(endpoint.address, creds, channelOptions) as unknown as Stub;
  const shared = { ...channelOptions, channelOverride: cas.getChannel() };
  const make = (name: string) => {
    const Ctor = serviceClient(name);
    return new Ctor(endpoint.address, creds, shared) as unknown as Stub;
  };
  const stubs = {
    cas,
    ac: make(`${REAPI_PACKAGE}.ActionCache`),
    execution: make(`${REAPI_PACKAGE}.Execution`),
    capabilities: make(`${REAPI_PACKAGE}.Capabilities`),
    byteStream: make('google.bytestream.ByteStream'),
    operations: make('google.longrunning.Operations'),
  };

  const metadata = () => {
    const md = new grpc.Metadata();
    for (const [k, v] of headers) md.add(k, v);
    md.add(REQUEST_METADATA_KEY, requestMetadata);
    return md;
  };
  const deadline = (o?: CallOptions) => new Date(Date.now() + (o?.deadlineMs ?? deadlineMs));
  const transferDeadline = (sizeBytes: number, o?: CallOptions) =>
    new Date(Date.now() + (o?.deadlineMs ?? deadlineMs) + Math.ceil(sizeBytes / (1024 * 1024)) * 1000);

  const unaryOnce = <Res>(stub: Stub, method: string, request: object, rpc: string, o?: CallOptions) =>
    new Promise<Res>((resolve, reject) => {
      const signal = o?.signal;
      if (signal?.aborted) return reject(abortedError(signal, rpc));
      const onAbort = () => call.cancel();
      const call = stub[method](request, metadata(), { deadline: deadline(o) }, (err: grpc.ServiceError | null, res: Res) => {
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(toReapiError(err, rpc, signal));
        else resolve(res);
      }) as grpc.ClientUnaryCall;
      signal?.addEventListener('abort', onAbort, { once: true });
    });

  const unary = <Res>(stub: Stub, method: string, request: object, rpc: string, o?: CallOptions) =>
    withRetries(() => unaryOnce<Res>(stub, method, request, rpc, o), retry, o?.signal);

  let caps: Promise<ServerCapabilities> | undefined;
  const capabilities = (o?: CallOptions) => {
    caps ??= unary<ServerCapabilities>(stubs.capabilities, 'getCapabilities', { instanceName: endpoint.instanceName }, 'Capabilities.GetCapabilities', o);
    caps.catch(() => (caps = undefined));
    return caps;
  };
  const batchLimit = async (o?: CallOptions) => {
    const server = (await capabilities(o)).cacheCapabilities?.maxBatchTotalSizeBytes ?? 0;
    // 0 means "no limit of its own": gRPC's default 4 MiB message size still applies.
    const ceiling = Math.min(maxBatchBytes, server > 0 ? server : DEFAULT_MAX_BATCH_BYTES);
    return Math.max(ceiling - BATCH_ENVELOPE_BYTES, 1);
  };

  return {
    endpoint,
    instanceName: endpoint.instanceName,
    retry,
    deadlineMs,
    chunkBytes,
    stubs,
    metadata,
    deadline,
    transferDeadline,
    unary,
    capabilities,
    batchLimit,
    close: () => {
      for (const s of Object.values(stubs)) s.close();
    },
  };
}
