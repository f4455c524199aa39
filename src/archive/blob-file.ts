import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Store } from '../store/types.js';
import type { Digest } from '../util/digest.js';

/** The store's own file for a blob, if it has one on this machine (the memory store of tests does not). */
async function storeFileOf(store: Store, digest: Digest): Promise<string | undefined> {
  try {
    const path = store.blobPath(digest);
    return (await stat(path)).isFile() ? path : undefined;
  } catch {
    return undefined;
  }
}

export interface BlobFile {
  file: string;
  /**
   * True when `file` is a copy written through the store's verified stream. When false it is
   * the store's own file, which was verified when written: read it through `store.openBlob`
   * once (as a parser pass) if the bytes must be checked again.
   */
  spilled: boolean;
}

/**
 * A real file with the blob's bytes, for formats that need random access (zip, sorting a tar):
 * the store's own file when there is one, else a copy in `tmpDir` (the caller removes it).
 */
export async function locateBlob(store: Store, digest: Digest, tmpDir: string): Promise<BlobFile> {
  const direct = await storeFileOf(store, digest);
  if (direct !== undefined) return { file: direct, spilled: false };
  const file = join(tmpDir, 'blob');
  await pipeline(store.openBlob(digest), createWriteStream(file, { flags: 'wx' }));
  return { file, spilled: true };
}

/** The first `bytes` bytes of a blob (fewer if it is shorter), read through the store. */
export async function readBlobHead(store: Store, digest: Digest, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  const stream = store.openBlob(digest);
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= bytes) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, bytes);
}
