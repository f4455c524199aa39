import { createReadStream, read as fsRead } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';

/**
 * Bytes at any offset of a blob or a file: what a zip's central directory (at the end) and a
 * tar rewritten in another order need. The store's `openRandomAccess` gives one over a blob,
 * `openFileRange` one over (a part of) a file: a temp copy, a spilled member, a file to diff.
 */
export interface RangeSource {
  readonly size: number;
  /** Bytes `[start, end)` as a stream. */
  stream(start: number, end: number): Readable;
  /**
   * Bytes `[position, position + length)` into `buffer` at `offset`, all of them or an error:
   * a faster path for the many small reads of a zip's directory, where a source has one.
   */
  read?(buffer: Buffer, offset: number, length: number, position: number): Promise<void>;
  close(): Promise<void>;
}

/** Read size of file range streams: large reads, few turns of the consumers' loops. */
const STREAM_CHUNK = 1 << 20;

/**
 * `size` bytes of the file at `path` from `offset` (the whole file by default) as a range
 * source: positional reads on one descriptor; each stream opens the file anew (destroying a
 * stream closes its descriptor, even one it was lent).
 */
export async function openFileRange(path: string, range?: { offset: number; size: number }): Promise<RangeSource> {
  const handle = await open(path, 'r');
  let size: number;
  try {
    size = range?.size ?? (await handle.stat()).size;
  } catch (err) {
    await handle.close();
    throw err;
  }
  const base = range?.offset ?? 0;
  return {
    size,
    stream(start, end) {
      if (end <= start) return Readable.from([]);
      return createReadStream(path, { start: base + start, end: base + end - 1, highWaterMark: STREAM_CHUNK });
    },
    read(buffer, offset, length, position) {
      return new Promise((resolve, reject) => {
        fsRead(handle.fd, buffer, offset, length, base + position, (err, bytesRead) => {
          if (err) return reject(err);
          if (bytesRead < length) return reject(new Error('unexpected end of file'));
          resolve();
        });
      });
    },
    close: () => handle.close(),
  };
}
