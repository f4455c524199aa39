import { open } from 'node:fs/promises';

/**
 * Gathers a stream of at most `maxBytes` bytes; `undefined` as soon as it holds more (the
 * stream is then left early, which destroys a Node stream). The caller names the budget in its
 * own error.
 */
export async function readStreamBounded(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Reads a whole file of at most `maxBytes` bytes; `undefined` when it holds more. Reads at
 * most `maxBytes + 1` bytes whatever the file is: a huge file, a FIFO or `/dev/zero` costs
 * no more than the budget. fs errors (ENOENT, EACCES, EISDIR) are thrown as they are, for the
 * caller to wrap in its family's error.
 */
export async function readFileBounded(file: string, maxBytes: number): Promise<Buffer | undefined> {
  const handle = await open(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = Math.min(1 << 20, maxBytes + 1 - total);
      const buffer = Buffer.allocUnsafe(want);
      const { bytesRead } = await handle.read(buffer, 0, want, null);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) return undefined;
    }
    return Buffer.concat(chunks, total);
  } finally {
    await handle.close();
  }
}
