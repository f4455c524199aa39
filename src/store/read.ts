import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { HASH_CHUNK_BYTES, type Digest } from '../util/digest.js';
import { StoreError } from './errors.js';
import { isNotFound } from './fsutil.js';
import { blobPathFor } from './path.js';
import type { RandomAccessBlob } from './types.js';
import { TREE_MANIFEST_PREFIX } from './validate.js';

function missing(digest: Digest, cause?: unknown): StoreError {
  return new StoreError('KILN_STORE_MISSING', `the store has no object ${digest}`, cause === undefined ? {} : { cause });
}

/**
 * A blob whose bytes no longer match its address is removed when found, so that it becomes a
 * miss (refetched or rebuilt) instead of failing every later build. Best effort.
 */
async function dropCorrupt(root: string, digest: Digest, found: string): Promise<StoreError> {
  await rm(blobPathFor(root, digest), { force: true }).catch(() => undefined);
  return new StoreError('KILN_STORE_CORRUPT', `store object ${digest} is corrupt and was removed`, {
    expected: digest,
    found,
    hint: 'run `kiln cache verify` to check the rest of the store',
  });
}

/** A stream of the blob, hashed as it is read; errors with KILN_STORE_CORRUPT at the end on mismatch. */
export function openBlobAt(root: string, digest: Digest): Readable {
  const path = blobPathFor(root, digest);
  const hash = createHash('sha256');
  const input = createReadStream(path, { highWaterMark: HASH_CHUNK_BYTES });
  const output = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      const found = `sha256:${hash.digest('hex')}`;
      if (found === digest) callback();
      else dropCorrupt(root, digest, found).then(callback, callback);
    },
  });
  input.on('error', (err) => output.destroy(isNotFound(err) ? missing(digest, err) : err));
  output.on('close', () => input.destroy());
  input.pipe(output);
  return output;
}

/** A whole (small) blob, verified. */
/**
 * A blob of the local store opened for reads at any offset. Its bytes were verified when they
 * were written (and `kiln cache verify` rehashes them); ranges are not hashed again.
 */
export async function openRandomAccessAt(root: string, digest: Digest): Promise<RandomAccessBlob> {
  const path = blobPathFor(root, digest);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (isNotFound(err)) throw missing(digest, err);
    throw err;
  }
  const { size } = await handle.stat();
  const file = handle;
  return {
    size,
    stream: (start, end) => rangeStream(file, digest, start, end),
    close: () => file.close(),
  };
}

/**
 * Bytes [start, end) of an open blob, read with positional reads. The handle outlives every
 * range and is closed once, by the blob's close(). (FileHandle.createReadStream would add a
 * listener to the shared handle per range: an archive of many members read at once warns.)
 */
function rangeStream(file: FileHandle, digest: Digest, start: number, end: number): Readable {
  let position = start;
  return new Readable({
    highWaterMark: HASH_CHUNK_BYTES,
    read() {
      const length = Math.min(HASH_CHUNK_BYTES, end - position);
      if (length <= 0) {
        this.push(null);
        return;
      }
      file.read(Buffer.allocUnsafe(length), 0, length, position).then(
        ({ bytesRead, buffer }) => {
          if (bytesRead === 0) {
            this.destroy(new StoreError('KILN_STORE_CORRUPT', `blob ${digest} ended at ${position} bytes, before ${end}`));
            return;
          }
          position += bytesRead;
          this.push(bytesRead < length ? buffer.subarray(0, bytesRead) : buffer);
        },
        (err: Error) => this.destroy(err),
      );
    },
  });
}

export async function readBlobAt(root: string, digest: Digest): Promise<Buffer> {
  const path = blobPathFor(root, digest);
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    if (isNotFound(err)) throw missing(digest, err);
    throw err;
  }
  const found = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  if (found !== digest) throw await dropCorrupt(root, digest, found);
  return data;
}

/** sha256 of a file, read with 1 MiB chunks. */
export async function hashFile(path: string): Promise<Digest> {
  const hash = createHash('sha256');
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, HASH_CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return `sha256:${hash.digest('hex')}`;
}

const PREFIX = Buffer.from(TREE_MANIFEST_PREFIX);

/** Whether a blob starts like a tree manifest: a few bytes read, so cheap for large blobs. */
export async function looksLikeTree(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  try {
    const buffer = Buffer.alloc(PREFIX.length);
    const { bytesRead } = await handle.read(buffer, 0, PREFIX.length, 0);
    return bytesRead === PREFIX.length && buffer.equals(PREFIX);
  } finally {
    await handle.close();
  }
}
