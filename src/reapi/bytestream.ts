import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import type { BlobSource } from './cas.js';
import { type CallOptions, type Connection, toReapiError } from './connection.js';
import { digestKey, EMPTY_DIGEST, type ReapiDigest } from './digest.js';
import { ReapiError } from './errors.js';
import { abortedError, backoffDelay, isRetriableCode, sleep } from './retry.js';

/*
 * ByteStream resource names (REAPI v2, "Uploads" and "Downloads"):
 *   read:  {instance_name/}blobs/{hash}/{size}
 *   write: {instance_name/}uploads/{uuid}/blobs/{hash}/{size}
 */
export function readResourceName(instanceName: string, d: ReapiDigest): string {
  return `${instanceName ? `${instanceName}/` : ''}blobs/${d.hash}/${d.sizeBytes}`;
}

export function writeResourceName(instanceName: string, d: ReapiDigest, uuid: string = randomUUID()): string {
  return `${instanceName ? `${instanceName}/` : ''}uploads/${uuid}/blobs/${d.hash}/${d.sizeBytes}`;
}

const READ_RPC = 'ByteStream.Read';
const WRITE_RPC = 'ByteStream.Write';

/**
 * A blob as a stream, verified while it flows: too many bytes fail at once, and at the end the
 * size and sha256 must match or the stream errors with KILN_REAPI_INTEGRITY (a consumer that
 * stores the bytes must wait for the end before trusting them, as kiln's store does). A broken
 * transfer resumes from the bytes already received (ReadRequest.read_offset).
 */
export function readByteStream(conn: Connection, digest: ReapiDigest, options?: CallOptions): Readable {
  return Readable.from(readChunks(conn, digest, options), { objectMode: false });
}

async function* readChunks(conn: Connection, digest: ReapiDigest, options?: CallOptions): AsyncGenerator<Buffer> {
  const signal = options?.signal;
  const hash = createHash('sha256');
  let offset = 0;
  const resourceName = readResourceName(conn.instanceName, digest);
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw abortedError(signal, READ_RPC);
    const call = conn.stubs.byteStream.read({ resourceName, readOffset: offset }, conn.metadata(), { deadline: conn.transferDeadline(digest.sizeBytes - offset, options) }) as grpc.ClientReadableStream<{ data: Buffer }>;
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const msg of call) {
        const data = msg.data;
        if (offset + data.length > digest.sizeBytes) {
          call.cancel();
          throw new ReapiError('KILN_REAPI_INTEGRITY', `${READ_RPC}: the server sent more than the ${digest.sizeBytes} bytes of ${digestKey(digest)}`, { rpc: READ_RPC });
        }
        hash.update(data);
        offset += data.length;
        if (data.length > 0) yield data;
      }
      break;
    } catch (err) {
      const e = toReapiError(err, READ_RPC, signal);
      if (e.code === 'KILN_REAPI_ABORTED' || !isRetriableCode(e.grpcCode) || attempt >= conn.retry.maxAttempts) throw e;
      await sleep(backoffDelay(attempt, conn.retry), signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
  const found = { hash: hash.digest('hex'), sizeBytes: offset };
  if (found.hash !== digest.hash || found.sizeBytes !== digest.sizeBytes) {
    throw new ReapiError('KILN_REAPI_INTEGRITY', `${READ_RPC}: the server sent other bytes for ${digestKey(digest)}`, { expected: digestKey(digest), found: digestKey(found), rpc: READ_RPC });
  }
}

/** Cuts a byte stream into chunks of at most `size` bytes. */
async function* rechunk(source: AsyncIterable<Buffer | Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    let buf = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    while (pendingBytes + buf.length >= size) {
      const take = size - pendingBytes;
      pending.push(buf.subarray(0, take));
      yield Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      buf = buf.subarray(take);
    }
    if (buf.length > 0) {
      pending.push(buf);
      pendingBytes += buf.length;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending);
}

async function* openAt(source: BlobSource, offset: number): AsyncGenerator<Buffer | Uint8Array> {
  if ('bytes' in source) yield source.bytes.subarray(offset);
  else yield* source.open(offset);
}

interface WriteAttempt {
  /** Bytes the server holds when the attempt ended (the blob's size when done). */
  committed: number;
}

/** One Write call from `offset`; resolves with the committed size or rejects with a ReapiError. */
async function writeOnce(conn: Connection, source: BlobSource, resourceName: string, offset: number, options?: CallOptions): Promise<WriteAttempt> {
  const signal = options?.signal;
  const size = source.digest.sizeBytes;
  let settled = false;
  let call!: grpc.ClientWritableStream<object>;
  const response = new Promise<WriteAttempt>((resolve, reject) => {
    call = conn.stubs.byteStream.write(conn.metadata(), { deadline: conn.transferDeadline(size - offset, options) }, (err: grpc.ServiceError | null, res: { committedSize: number }) => {
      settled = true;
      if (err) reject(toReapiError(err, WRITE_RPC, signal));
      else resolve({ committed: res.committedSize });
    }) as grpc.ClientWritableStream<object>;
  });
  response.catch(() => undefined); // observed below; an early failure must not go unhandled meanwhile
  const onAbort = () => call.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let position = offset;
    let first = true;
    const hash = offset === 0 ? createHash('sha256') : undefined;
    for await (const chunk of rechunk(openAt(source, offset), conn.chunkBytes)) {
      // The server may end the call early: the blob was already there (REAPI v2, "Uploads").
      if (settled) break;
      if (position + chunk.length > size) throw new ReapiError('KILN_REAPI_INTEGRITY', `refusing to upload ${digestKey(source.digest)}: its source is longer than ${size} bytes`);
      hash?.update(chunk);
      const last = position + chunk.length === size;
      const ok = call.write({ ...(first && { resourceName }), writeOffset: position, finishWrite: last, data: chunk });
      first = false;
      position += chunk.length;
      if (!ok && !settled) await new Promise<void>((resolve) => { call.once('drain', resolve); void response.finally(resolve); });
    }
    if (!settled) {
      if (position !== size) throw new ReapiError('KILN_REAPI_INTEGRITY', `refusing to upload ${digestKey(source.digest)}: its source holds ${position} bytes, not ${size}`);
      if (hash && hash.digest('hex') !== source.digest.hash) throw new ReapiError('KILN_REAPI_INTEGRITY', `refusing to upload ${digestKey(source.digest)}: its source holds other bytes`);
      if (first) call.write({ resourceName, writeOffset: position, finishWrite: true });
      call.end();
    }
    return await response;
  } catch (err) {
    if (!settled) call.cancel();
    throw err instanceof ReapiError ? err : toReapiError(err, WRITE_RPC, signal);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Bytes the server has kept of an interrupted upload, or undefined when it cannot say. */
async function queryWriteStatus(conn: Connection, resourceName: string, options?: CallOptions): Promise<{ committed: number; complete: boolean } | undefined> {
  try {
    const res = await conn.unary<{ committedSize: number; complete: boolean }>(conn.stubs.byteStream, 'queryWriteStatus', { resourceName }, 'ByteStream.QueryWriteStatus', options);
    return { committed: res.committedSize, complete: res.complete };
  } catch (err) {
    const e = err as ReapiError;
    if (e.code === 'KILN_REAPI_ABORTED') throw e;
    return undefined; // UNIMPLEMENTED (Buildbarn), NOT_FOUND: start over
  }
}

/**
 * Uploads one blob through ByteStream Write in chunks. When a transfer breaks with UNAVAILABLE or
 * RESOURCE_EXHAUSTED, QueryWriteStatus asks how much the server kept and the upload resumes from
 * there; a server that cannot say (Buildbarn answers UNIMPLEMENTED) gets the blob again from byte 0
 * under a new upload name.
 */
export async function writeByteStream(conn: Connection, source: BlobSource, options?: CallOptions): Promise<void> {
  const size = source.digest.sizeBytes;
  if (source.digest.hash === EMPTY_DIGEST.hash && size === 0) return;
  let resourceName = writeResourceName(conn.instanceName, source.digest);
  let offset = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      const { committed } = await writeOnce(conn, source, resourceName, offset, options);
      // -1: the server already had the blob (allowed since REAPI v2.2 for compressed uploads).
      if (committed === size || committed === -1) return;
      throw new ReapiError('KILN_REAPI_BAD_RESPONSE', `${WRITE_RPC} of ${digestKey(source.digest)} committed ${committed} bytes`, { rpc: WRITE_RPC });
    } catch (err) {
      const e = err as ReapiError;
      if (e.code === 'KILN_REAPI_ABORTED' || !isRetriableCode(e.grpcCode) || attempt >= conn.retry.maxAttempts) throw e;
      await sleep(backoffDelay(attempt, conn.retry), options?.signal);
      const status = await queryWriteStatus(conn, resourceName, options);
      if (status?.complete) return;
      if (status && status.committed >= 0 && status.committed <= size) {
        offset = status.committed;
      } else {
        offset = 0;
        resourceName = writeResourceName(conn.instanceName, source.digest);
      }
    }
  }
}
