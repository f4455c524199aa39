import type { Store } from '../store/types.js';
import type { Digest } from '../util/digest.js';

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
