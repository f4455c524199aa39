import type { Readable } from 'node:stream';
import { status as Status } from '@grpc/grpc-js';
import { readByteStream, writeByteStream } from './bytestream.js';
import type { CallOptions, Connection } from './connection.js';
import { assertReapiDigest, digestKey, digestOfBytes, EMPTY_DIGEST, type ReapiDigest } from './digest.js';
import { ReapiError } from './errors.js';
import type { RpcStatus } from './messages.js';
import { isRetriableCode, sleep, backoffDelay } from './retry.js';

/**
 * A blob to upload: its bytes in memory, or a way to open them from an offset (so an interrupted
 * ByteStream upload resumes where the server says it stopped).
 */
export type BlobSource =
  | { digest: ReapiDigest; bytes: Uint8Array }
  | { digest: ReapiDigest; open: (offset: number) => Readable };

/** What an upload did: how many blobs were asked about, missing, and the bytes moved. */
export interface UploadReport {
  /** Distinct blobs considered. */
  blobs: number;
  /** Of those, the ones the server lacked (and that were uploaded). */
  missing: number;
  uploadedBytes: number;
  /** Of the uploads, those that went through ByteStream (larger than a batch). */
  streamed: number;
}

/** Digests in one FindMissingBlobs request: ~80 bytes each, far below gRPC's 4 MiB. */
const FIND_MISSING_CHUNK = 8192;
/** A batch entry's own fields (digest, tags) on top of its data. */
const ENTRY_OVERHEAD_BYTES = 128;
/** Batches in flight at once. */
const BATCH_CONCURRENCY = 4;

/** The first item of each digest, in order. */
function dedupe<T>(items: T[], key: (t: T) => ReapiDigest): T[] {
  const seen = new Map<string, T>();
  for (const item of items) {
    const k = digestKey(key(item));
    if (!seen.has(k)) seen.set(k, item);
  }
  return [...seen.values()];
}

const self = (d: ReapiDigest) => d;

/** Splits `items` into groups whose sizes (plus per-entry overhead) stay within `limit`; pure. */
export function planBatches<T>(items: T[], sizeOf: (t: T) => number, limit: number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let total = 0;
  for (const item of items) {
    const size = sizeOf(item) + ENTRY_OVERHEAD_BYTES;
    if (current.length > 0 && total + size > limit) {
      batches.push(current);
      current = [];
      total = 0;
    }
    current.push(item);
    total += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Runs `work` over `items` with at most `limit` at once; the first failure rejects. */
async function forEachLimited<T>(items: T[], limit: number, work: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

/** The digests among `digests` that the server's CAS lacks (the empty blob is never missing). */
export async function findMissingBlobs(conn: Connection, digests: ReapiDigest[], options?: CallOptions): Promise<ReapiDigest[]> {
  const wanted = dedupe(digests, self).filter((d) => d.hash !== EMPTY_DIGEST.hash);
  const asked = new Set(wanted.map(digestKey));
  const missing: ReapiDigest[] = [];
  for (let i = 0; i < wanted.length; i += FIND_MISSING_CHUNK) {
    const chunk = wanted.slice(i, i + FIND_MISSING_CHUNK);
    const res = await conn.unary<{ missingBlobDigests: ReapiDigest[] }>(
      conn.stubs.cas, 'findMissingBlobs',
      { instanceName: conn.instanceName, blobDigests: chunk, digestFunction: 'SHA256' },
      'ContentAddressableStorage.FindMissingBlobs', options,
    );
    for (const d of res.missingBlobDigests) {
      assertReapiDigest(d, 'a digest in FindMissingBlobsResponse');
      if (!asked.has(digestKey(d))) throw new ReapiError('KILN_REAPI_BAD_RESPONSE', `FindMissingBlobs named ${digestKey(d)}, which was not asked about`);
      missing.push(d);
    }
  }
  return missing;
}

async function bytesOf(source: BlobSource): Promise<Uint8Array> {
  if ('bytes' in source) return source.bytes;
  const chunks: Buffer[] = [];
  for await (const c of source.open(0)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function statusError(rpc: string, d: ReapiDigest, s: RpcStatus): ReapiError {
  const code = s.code === Status.NOT_FOUND ? 'KILN_REAPI_NOT_FOUND' : isRetriableCode(s.code) ? 'KILN_REAPI_UNAVAILABLE' : 'KILN_REAPI_RPC';
  return new ReapiError(code, `${rpc}: blob ${digestKey(d)}: ${Status[s.code] ?? s.code} ${s.message}`, { rpc, grpcCode: s.code });
}

async function batchUpload(conn: Connection, batch: BlobSource[], options?: CallOptions): Promise<void> {
  const rpc = 'ContentAddressableStorage.BatchUpdateBlobs';
  let pending = batch;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const requests = await Promise.all(pending.map(async (s) => ({ digest: s.digest, data: Buffer.from(await bytesOf(s)) })));
    for (const r of requests) {
      const found = digestOfBytes(r.data);
      if (found.hash !== r.digest.hash || found.sizeBytes !== r.digest.sizeBytes) {
        throw new ReapiError('KILN_REAPI_INTEGRITY', `refusing to upload ${digestKey(r.digest)}: its source holds ${digestKey(found)}`);
      }
    }
    const res = await conn.unary<{ responses: { digest: ReapiDigest; status: RpcStatus | null }[] }>(
      conn.stubs.cas, 'batchUpdateBlobs',
      { instanceName: conn.instanceName, requests, digestFunction: 'SHA256' }, rpc, options,
    );
    const failed = new Map<string, RpcStatus>();
    const answered = new Set<string>();
    for (const r of res.responses) {
      answered.add(digestKey(r.digest));
      if (r.status && r.status.code !== Status.OK) failed.set(digestKey(r.digest), r.status);
    }
    for (const s of pending) if (!answered.has(digestKey(s.digest))) throw new ReapiError('KILN_REAPI_BAD_RESPONSE', `${rpc} left out ${digestKey(s.digest)}`, { rpc });
    const retry: BlobSource[] = [];
    for (const s of pending) {
      const st = failed.get(digestKey(s.digest));
      if (!st) continue;
      if (!isRetriableCode(st.code) || attempt >= conn.retry.maxAttempts) throw statusError(rpc, s.digest, st);
      retry.push(s);
    }
    pending = retry;
    if (pending.length > 0) await sleep(backoffDelay(attempt, conn.retry), options?.signal);
  }
}

/**
 * Uploads `sources` without asking what is missing (see `uploadMissing`): blobs that fit a batch
 * go in BatchUpdateBlobs requests within the batch limit, larger ones through ByteStream Write.
 * The bytes are checked against their digest before they leave.
 */
export async function uploadBlobs(conn: Connection, sources: BlobSource[], options?: CallOptions): Promise<{ uploadedBytes: number; streamed: number }> {
  const limit = await conn.batchLimit(options);
  const unique = dedupe(sources, (s) => s.digest).filter((s) => s.digest.hash !== EMPTY_DIGEST.hash);
  const small = unique.filter((s) => s.digest.sizeBytes + ENTRY_OVERHEAD_BYTES <= limit);
  const large = unique.filter((s) => s.digest.sizeBytes + ENTRY_OVERHEAD_BYTES > limit);
  await forEachLimited(planBatches(small, (s) => s.digest.sizeBytes, limit), BATCH_CONCURRENCY, (b) => batchUpload(conn, b, options));
  for (const s of large) await writeByteStream(conn, s, options);
  return { uploadedBytes: unique.reduce((n, s) => n + s.digest.sizeBytes, 0), streamed: large.length };
}

/** FindMissingBlobs, then uploads only what the server lacks. */
export async function uploadMissing(conn: Connection, sources: BlobSource[], options?: CallOptions): Promise<UploadReport> {
  const unique = dedupe(sources, (s) => s.digest);
  const missing = new Set((await findMissingBlobs(conn, unique.map((s) => s.digest), options)).map(digestKey));
  const toSend = unique.filter((s) => missing.has(digestKey(s.digest)));
  const { uploadedBytes, streamed } = await uploadBlobs(conn, toSend, options);
  return { blobs: unique.length, missing: toSend.length, uploadedBytes, streamed };
}

export interface ReadOptions extends CallOptions {
  /** Refuse to hold more than this many bytes in memory in all (default 256 MiB); stream larger blobs. */
  maxBytes?: number;
}

const DEFAULT_MAX_READ_BYTES = 256 * 1024 * 1024;

async function batchRead(conn: Connection, batch: ReapiDigest[], into: Map<string, Buffer>, options?: CallOptions): Promise<void> {
  const rpc = 'ContentAddressableStorage.BatchReadBlobs';
  const res = await conn.unary<{ responses: { digest: ReapiDigest; data: Buffer; status: RpcStatus | null; compressor: string }[] }>(
    conn.stubs.cas, 'batchReadBlobs',
    { instanceName: conn.instanceName, digests: batch, digestFunction: 'SHA256' }, rpc, options,
  );
  const asked = new Set(batch.map(digestKey));
  for (const r of res.responses) {
    assertReapiDigest(r.digest, `a digest in ${rpc}'s response`);
    const key = digestKey(r.digest);
    if (!asked.has(key)) throw new ReapiError('KILN_REAPI_BAD_RESPONSE', `${rpc} answered ${key}, which was not asked for`);
    if (r.status && r.status.code !== Status.OK) throw statusError(rpc, r.digest, r.status);
    if (r.compressor && r.compressor !== 'IDENTITY') throw new ReapiError('KILN_REAPI_BAD_RESPONSE', `${rpc} sent ${key} compressed (${r.compressor}) though kiln accepts none`);
    const found = digestOfBytes(r.data);
    if (found.hash !== r.digest.hash || found.sizeBytes !== r.digest.sizeBytes) {
      throw new ReapiError('KILN_REAPI_INTEGRITY', `${rpc}: the server sent other bytes for ${key}`, { expected: key, found: digestKey(found), rpc });
    }
    into.set(key, r.data);
  }
  for (const key of asked) if (!into.has(key)) throw new ReapiError('KILN_REAPI_BAD_RESPONSE', `${rpc} left out ${key}`);
}

/**
 * Reads blobs into memory, each verified against its digest: batches for small ones, ByteStream
 * for the rest. Keys of the result are `hash/size`.
 */
export async function readBlobs(conn: Connection, digests: ReapiDigest[], options?: ReadOptions): Promise<Map<string, Buffer>> {
  const unique = dedupe(digests, self);
  for (const d of unique) assertReapiDigest(d, 'a digest to read');
  const total = unique.reduce((n, d) => n + d.sizeBytes, 0);
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_READ_BYTES;
  if (total > maxBytes) {
    throw new ReapiError('KILN_REAPI_BAD_RESPONSE', `reading ${total} bytes into memory is over the budget of ${maxBytes}`, { hint: 'stream large blobs (openBlobStream)' });
  }
  const out = new Map<string, Buffer>();
  const empty = unique.filter((d) => d.sizeBytes === 0);
  for (const d of empty) {
    if (d.hash !== EMPTY_DIGEST.hash) throw new ReapiError('KILN_REAPI_INTEGRITY', `no bytes have the digest ${digestKey(d)}`);
    out.set(digestKey(d), Buffer.alloc(0));
  }
  const limit = await conn.batchLimit(options);
  const rest = unique.filter((d) => d.sizeBytes > 0);
  const small = rest.filter((d) => d.sizeBytes + ENTRY_OVERHEAD_BYTES <= limit);
  const large = rest.filter((d) => d.sizeBytes + ENTRY_OVERHEAD_BYTES > limit);
  await forEachLimited(planBatches(small, (d) => d.sizeBytes, limit), BATCH_CONCURRENCY, (b) => batchRead(conn, b, out, options));
  for (const d of large) {
    const chunks: Buffer[] = [];
    for await (const c of readByteStream(conn, d, options)) chunks.push(c as Buffer);
    out.set(digestKey(d), Buffer.concat(chunks));
  }
  return out;
}
