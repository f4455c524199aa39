import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StoreError } from '../store/errors.js';
import type { PutResult, Store } from '../store/types.js';
import { HASH_CHUNK_BYTES, toDigest } from '../util/digest.js';
import { httpGet } from './http.js';
import { mirrorLocations, type Location } from './sources.js';

/** What bytes from a source must be: the sha256 they are looked up by, and the pin itself. */
export interface BlobExpectation {
  /** Hex sha256: the address in a mirror, checked while the bytes stream. */
  sha256: string;
  /** The pin's SRI, checked in the same pass (it may name sha512 too). */
  integrity?: string;
  /** When the pin knows the size (Debian packages, a .dsc's files): more bytes are refused early. */
  size?: number;
}

/** A source's answer for one blob: the stored bytes, or why not (`missing`: it does not hold them). */
export type BlobOutcome = { ok: true; put: PutResult } | { ok: false; missing: boolean; reason: string };

export interface BlobTransfer {
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
}

/** Fails the stream once more than `max` bytes went through: a source cannot fill the disk. */
function byteLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > max) done(new SizeError(`sent more than the pinned ${max} bytes`));
      else done(null, chunk);
    },
  });
}

/** The same limit, pulled: the error surfaces where the bytes are read, never as a stray event. */
async function* limited(source: Readable, max: number): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (seen > max) throw new SizeError(`sent more than the pinned ${max} bytes`);
    yield chunk;
  }
}

class SizeError extends Error {}

/** The bytes at `at` (a checked regular file, or a response to stream), or why there are none. */
async function open(at: Location, expect: BlobExpectation, signal?: AbortSignal): Promise<{ ok: true; file: string } | { ok: true; stream: Readable } | { ok: false; missing: boolean; reason: string }> {
  if (at.kind === 'file') {
    const info = await stat(at.path).catch((err: NodeJS.ErrnoException) => err);
    if (info instanceof Error) return { ok: false, missing: info.code === 'ENOENT' || info.code === 'ENOTDIR', reason: info.code === 'ENOENT' ? 'not there' : info.message };
    if (!info.isFile()) return { ok: false, missing: false, reason: 'not a file' };
    if (expect.size !== undefined && info.size !== expect.size) return { ok: false, missing: false, reason: `holds ${info.size} bytes, the pin says ${expect.size}` };
    return { ok: true, file: at.path };
  }
  if (at.kind === 'cas') {
    const got = await at.store.open({ sha256: expect.sha256, ...(expect.size !== undefined && { size: expect.size }) }, signal);
    if (!got.ok) return got;
    if (expect.size !== undefined && got.size !== expect.size) {
      got.stream.destroy();
      return { ok: false, missing: false, reason: `holds ${got.size} bytes, the pin says ${expect.size}` };
    }
    return { ok: true, stream: got.stream };
  }
  const got = await httpGet(at.url, { ...(signal && { signal }) });
  if (!got.ok) return { ok: false, missing: got.status === 404, reason: got.status === 404 ? 'not there (HTTP 404)' : got.reason };
  if (expect.size !== undefined && got.total !== undefined && got.total !== expect.size) {
    got.response.destroy();
    return { ok: false, missing: false, reason: `announced ${got.total} bytes, the pin says ${expect.size}` };
  }
  return { ok: true, stream: got.response };
}

/**
 * Streams the blob at `at` into the store, verified against the expected sha256 and the pin's
 * SRI while it is written: wrong bytes never enter the store (the temp file is removed).
 * Rejects only when `signal` aborts or the store itself fails.
 */
export async function putFromLocation(store: Store, at: Location, expect: BlobExpectation, transfer: BlobTransfer = {}): Promise<BlobOutcome> {
  const opened = await open(at, expect, transfer.signal);
  if (!opened.ok) return opened;
  const options = {
    digest: toDigest(expect.sha256),
    ...(expect.integrity !== undefined && { integrity: expect.integrity }),
    ...(transfer.signal && { signal: transfer.signal }),
    ...(transfer.onProgress && { onProgress: transfer.onProgress }),
  };
  try {
    // A regular file of the size the pin states (open checked both): the store's own file
    // copy, which reads ahead while it hashes, is the fastest path.
    if ('file' in opened) return { ok: true, put: await store.putFile(opened.file, options) };
    const source = expect.size === undefined ? opened.stream : Readable.from(limited(opened.stream, expect.size), { objectMode: false });
    return { ok: true, put: await store.putStream(source, options) };
  } catch (err) {
    if (transfer.signal?.aborted) throw err;
    if (err instanceof StoreError && err.code === 'KILN_STORE_INTEGRITY') return { ok: false, missing: false, reason: `refused: the bytes do not match the pin (found ${err.found})` };
    if (err instanceof StoreError) throw err;
    if (err instanceof SizeError) return { ok: false, missing: false, reason: `refused: ${err.message}` };
    return { ok: false, missing: false, reason: (err as Error).message };
  } finally {
    if ('stream' in opened) opened.stream.destroy();
  }
}

/**
 * Copies the blob at `at` to a new local file `dest` (for tools that verify a folder of files,
 * as the source package fetcher does); the caller verifies. Size-limited like putFromLocation.
 */
export async function saveLocation(at: Location, dest: string, expect: BlobExpectation, signal?: AbortSignal): Promise<{ ok: true } | { ok: false; missing: boolean; reason: string }> {
  const opened = await open(at, expect, signal);
  if (!opened.ok) return opened;
  try {
    const stream = 'file' in opened ? createReadStream(opened.file, { highWaterMark: HASH_CHUNK_BYTES }) : opened.stream;
    await pipeline([stream, ...(expect.size === undefined ? [] : [byteLimit(expect.size)]), createWriteStream(dest, { flags: 'wx' })], { ...(signal && { signal }) });
    return { ok: true };
  } catch (err) {
    // The next source writes the same file afresh.
    await rm(dest, { force: true });
    if (signal?.aborted) throw err;
    return { ok: false, missing: false, reason: err instanceof SizeError ? `refused: ${err.message}` : (err as Error).message };
  }
}

/**
 * Tries one mirror for a blob: each place the mirror may keep it (a folder may be a vendored
 * folder or a kiln store). Returns the stored bytes or why this mirror did not yield them.
 */
export async function putFromMirror(store: Store, mirror: Location, expect: BlobExpectation, transfer: BlobTransfer = {}): Promise<BlobOutcome> {
  let last: BlobOutcome | undefined;
  for (const at of mirrorLocations(mirror, expect.sha256)) {
    last = await putFromLocation(store, at, expect, transfer);
    if (last.ok || !last.missing) return last;
  }
  return { ok: false, missing: true, reason: `not there (no cas/${expect.sha256})` };
}

/** Like putFromMirror, into a local file. */
export async function saveFromMirror(mirror: Location, dest: string, expect: BlobExpectation, signal?: AbortSignal): Promise<{ ok: true } | { ok: false; missing: boolean; reason: string }> {
  for (const at of mirrorLocations(mirror, expect.sha256)) {
    const got = await saveLocation(at, dest, expect, signal);
    if (got.ok || !got.missing) return got;
  }
  return { ok: false, missing: true, reason: `not there (no cas/${expect.sha256})` };
}
