import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat, utimes, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import { HASH_CHUNK_BYTES } from '../util/digest.js';
import { StoreError } from './errors.js';
import { expectationFor, matchesExpectation, MultiHash, sha256Of, toSRI, type Expectation } from './integrity.js';
import { blobPathFor, tmpDir } from './path.js';
import type { PutOptions, PutResult } from './types.js';

/** Blobs are never modified in place: read-only makes an accidental write fail loudly. */
export const BLOB_MODE = 0o444;

/** A unique temp path inside the store (same filesystem as the objects, so rename is atomic). */
function tempPath(root: string): string {
  return join(tmpDir(root), `${process.pid}-${randomBytes(8).toString('hex')}`);
}

/**
 * Creates the temp file exclusively ('wx'): two writers can never share one. It is created
 * read-only (BLOB_MODE): the mode applies to later opens, not to this handle, so the finished
 * blob needs no chmod.
 */
async function openTemp(root: string): Promise<{ path: string; handle: FileHandle }> {
  const path = tempPath(root);
  try {
    return { path, handle: await open(path, 'wx', BLOB_MODE) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // The tmp folder was removed under us (a user wiped the store): recreate it once.
    await mkdir(tmpDir(root), { recursive: true });
    return { path, handle: await open(path, 'wx', BLOB_MODE) };
  }
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

function aborted(signal: AbortSignal | undefined, cause?: unknown): StoreError {
  return new StoreError('KILN_STORE_ABORTED', 'store write aborted', { cause: cause ?? signal?.reason });
}

type Fill = (handle: FileHandle, hash: MultiHash, progress: (n: number) => void) => Promise<void>;

/**
 * The one write path (cacache's discipline): bytes go to a unique temp file in the store and are
 * hashed in the same pass; only when they match the expectation is the temp renamed into
 * place, so a reader never sees a partial or wrong object. A temp that was not renamed is
 * removed in `finally`, whatever happened. A crash leaves only a temp file, which gc removes
 * once it is old. `known: 'absent'`: the caller hashed the bytes first and found no such blob.
 */
async function writeBlob(root: string, options: PutOptions, fill: Fill, known: 'absent' | 'unknown' = 'unknown'): Promise<PutResult> {
  const expectation: Expectation | undefined = expectationFor(options.integrity, options.digest);
  if (options.signal?.aborted) throw aborted(options.signal);
  const hash = new MultiHash(expectation);
  const { path, handle } = await openTemp(root);
  let open = true;
  let placed = false;
  let size = 0;
  try {
    await fill(handle, hash, (n) => {
      size += n;
      options.onProgress?.(size);
    });
    open = false;
    await handle.close();
    const computed = hash.digest();
    if (expectation && !matchesExpectation(expectation, computed)) {
      throw new StoreError('KILN_STORE_INTEGRITY', 'integrity check failed: the bytes do not match the expected hash', {
        expected: expectation.text,
        found: toSRI(computed),
      });
    }
    const digest = sha256Of(computed);
    const dest = blobPathFor(root, digest);
    // The temp file goes in `finally`; written data that is never renamed rarely reaches the disk.
    // Bytes hashed before the write were looked up already (`known`).
    if (known === 'unknown' && (await alreadyStored(dest, size))) return { digest, size, integrity: toSRI(computed) };
    placed = await moveIntoPlace(path, dest);
    return { digest, size, integrity: toSRI(computed) };
  } catch (err) {
    if (options.signal?.aborted && !(err instanceof StoreError)) throw aborted(options.signal, err);
    throw err;
  } finally {
    if (open) await handle.close().catch(() => undefined);
    if (!placed) await rm(path, { force: true });
  }
}

/**
 * An object already in the store is not written again: its bytes are the same by address (a
 * wrong size means a torn object, which is replaced). Its mtime is refreshed, because gc keeps
 * what was just written (a concurrent kiln may be about to reference it). Unpacking the
 * packages of a Debian image and reading back its root filesystem give the same files twice.
 */
async function alreadyStored(dest: string, size: number): Promise<boolean> {
  const info = await stat(dest).catch(() => undefined);
  if (!info?.isFile() || info.size !== size) return false;
  const now = new Date();
  await utimes(dest, now, now).catch(() => undefined);
  return true;
}

/** Fan-out folders this process has made: a root filesystem's ten thousand files need 256 of them, not ten thousand mkdirs. */
const madeDirs = new Set<string>();

/**
 * rename(2) replaces an existing object atomically (another writer may have stored the same
 * bytes since `alreadyStored` looked). Where rename refuses to replace (other platforms), an
 * existing destination is success. True when `from` was moved (false: it is still there).
 */
async function moveIntoPlace(from: string, to: string, retried = false): Promise<boolean> {
  const dir = dirname(to);
  if (!madeDirs.has(dir)) {
    await mkdir(dir, { recursive: true });
    madeDirs.add(dir);
  }
  try {
    await rename(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !retried) {
      // The folder was removed under us (a wiped store): make it again, once.
      madeDirs.delete(dir);
      return moveIntoPlace(from, to, true);
    }
    const exists = await stat(to).then(() => true, () => false);
    if (!exists) throw err;
    const now = new Date();
    await utimes(to, now, now).catch(() => undefined);
    return false;
  }
}

/**
 * Reads with two 1 MiB buffers: the next read runs while the current chunk is hashed and
 * written (Node's hashing reaches OpenSSL's speed only with ~1 MiB chunks).
 */
export function putFileIn(root: string, file: string, options: PutOptions = {}): Promise<PutResult> {
  return writeBlob(root, options, async (out, hash, progress) => {
    const input = await open(file, 'r');
    const buffers = [Buffer.allocUnsafe(HASH_CHUNK_BYTES), Buffer.allocUnsafe(HASH_CHUNK_BYTES)];
    let current = 0;
    let reading = input.read(buffers[0]!, 0, HASH_CHUNK_BYTES, null);
    let writing: Promise<void> = Promise.resolve();
    try {
      for (;;) {
        const { bytesRead } = await reading;
        if (bytesRead === 0) break;
        if (options.signal?.aborted) throw aborted(options.signal);
        const chunk = buffers[current]!.subarray(0, bytesRead);
        // The other buffer is free once its write has finished: read ahead into it.
        await writing;
        current ^= 1;
        reading = input.read(buffers[current]!, 0, HASH_CHUNK_BYTES, null);
        hash.update(chunk);
        progress(bytesRead);
        writing = writeAll(out, chunk);
      }
      await writing;
    } finally {
      // On an early exit, let the read-ahead and the last write settle before closing.
      await Promise.allSettled([reading, writing]);
      await input.close();
    }
  });
}

/**
 * Streams arrive in small chunks (64 KiB from a socket or a file stream): they are gathered
 * into 1 MiB batches, because hashing is twice as fast on large chunks; a batch is written
 * while the next one fills. A stream that ends within the first batch (most files of a root
 * filesystem) is stored as bytes: hashed before anything is written, so one already in the
 * store costs no write at all.
 */
export async function putStreamIn(root: string, source: Readable, options: PutOptions = {}): Promise<PutResult> {
  if (options.signal) addAbortSignal(options.signal, source);
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Uint8Array | string>;
  const head: Uint8Array[] = [];
  let headBytes = 0;
  let ended = false;
  try {
    while (headBytes < HASH_CHUNK_BYTES) {
      const next = await chunks.next();
      if (next.done) {
        ended = true;
        break;
      }
      const bytes = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      head.push(bytes);
      headBytes += bytes.length;
    }
  } catch (err) {
    await chunks.return?.();
    if (options.signal?.aborted) throw aborted(options.signal, err);
    throw err;
  }
  if (ended) return putBytesIn(root, head.length === 1 ? head[0]! : Buffer.concat(head, headBytes), options);
  return writeBlob(root, options, async (out, hash, progress) => {
    let batch: Uint8Array[] = head;
    let batched = headBytes;
    let writing: Promise<void> = Promise.resolve();
    const flush = async () => {
      const bytes = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batched);
      batch = [];
      batched = 0;
      hash.update(bytes);
      await writing;
      writing = writeAll(out, bytes);
      progress(bytes.length);
    };
    let done = false;
    try {
      await flush();
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
        const bytes: Uint8Array = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
        batch.push(bytes);
        batched += bytes.length;
        if (batched >= HASH_CHUNK_BYTES) await flush();
      }
      done = true;
      if (batched > 0) await flush();
      await writing;
    } finally {
      await Promise.allSettled([writing]);
      // An early exit (a failed write, an abort) stops the source as `for await` would.
      if (!done) await chunks.return?.();
    }
  });
}

/** Bytes in memory: hashed and checked first, so bytes the store already holds are not written again. */
export async function putBytesIn(root: string, data: Uint8Array | string, options: PutOptions = {}): Promise<PutResult> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const expectation = expectationFor(options.integrity, options.digest);
  if (options.signal?.aborted) throw aborted(options.signal);
  const hash = new MultiHash(expectation);
  hash.update(bytes);
  const computed = hash.digest();
  if (expectation && !matchesExpectation(expectation, computed)) {
    throw new StoreError('KILN_STORE_INTEGRITY', 'integrity check failed: the bytes do not match the expected hash', {
      expected: expectation.text,
      found: toSRI(computed),
    });
  }
  if (await alreadyStored(blobPathFor(root, sha256Of(computed)), bytes.length)) {
    options.onProgress?.(bytes.length);
    return { digest: sha256Of(computed), size: bytes.length, integrity: toSRI(computed) };
  }
  return writeBlob(root, options, async (out, h, progress) => {
    h.update(bytes);
    await writeAll(out, bytes);
    progress(bytes.length);
  }, 'absent');
}
