import { PassThrough } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { decompress } from '../archive/decompress.js';
import { pump, Reader } from '../archive/reader.js';

export interface Decoded {
  /** The decompressed bytes. */
  reader: Reader;
  /**
   * Stops the decompressor (if the reader was not read to its end) and waits until nothing
   * reads the compressed reader any more; then the caller may read it again. Rejects with the
   * decompressor's failure when `complete` and it failed.
   */
  finish(complete: boolean): Promise<void>;
}

/** Output chunks of zlib: larger than its 16 KiB default, fewer turns of the comparison loop. */
const GUNZIP_CHUNK = 256 * 1024;

/** Decompresses `raw` streaming: gzip in-process (zlib), xz, bzip2 and zstd by their tools. */
export function decode(compression: 'gzip' | 'xz' | 'bzip2' | 'zstd', raw: Reader, label: string): Decoded {
  if (compression === 'gzip') {
    const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK });
    // Its failures reach the comparison through the reader; one raised after the reader let go is moot.
    gunzip.on('error', () => {});
    const pumped = pump(raw, gunzip);
    return {
      reader: Reader.fromStream(gunzip),
      async finish() {
        if (!gunzip.readableEnded) gunzip.destroy();
        await pumped;
      },
    };
  }
  const input = new PassThrough();
  const tool = decompress(compression, input, label);
  const pumped = pump(raw, input, { copy: true });
  tool.stream.on('error', () => {});
  return {
    reader: Reader.fromStream(tool.stream, { eager: true }),
    async finish(complete) {
      try {
        if (complete) await tool.done;
        else tool.abort();
      } finally {
        // The tool is gone: whatever it did not read is dropped, and the pump wakes up.
        input.destroy();
        await pumped;
      }
    },
  };
}
