import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { HASH_CHUNK_BYTES } from '../util/digest.js';
import { VerifyError } from './errors.js';

/** An artifact as verification sees it: its digests, computed once. */
export interface HashedArtifact {
  /** The path as given. */
  path: string;
  /** The file name: what the checks and the policy call it. */
  name: string;
  size: number;
  /** Lowercase hex. Both, because subjects carry either (kiln: sha256, npm: only sha512). */
  digests: { sha256: string; sha512: string };
}

/**
 * Hashes a file with sha256 and sha512 in ONE read (sha512 has no hardware path, so a
 * second read would cost a whole extra pass), 1 MiB at a time, memory flat whatever the size.
 * Two buffers alternate so the next read runs on the thread pool while this one is hashed.
 */
export async function hashArtifact(path: string): Promise<HashedArtifact> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new VerifyError('KILN_VERIFY_UNREADABLE', `cannot read artifact ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      where: { file: path },
      cause: err,
    });
  }
  try {
    const sha256 = createHash('sha256');
    const sha512 = createHash('sha512');
    const buffers = [Buffer.allocUnsafe(HASH_CHUNK_BYTES), Buffer.allocUnsafe(HASH_CHUNK_BYTES)];
    let size = 0;
    let which = 0;
    let pending = handle.read(buffers[0]!, 0, HASH_CHUNK_BYTES, null);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      const current = buffers[which]!;
      which ^= 1;
      // Start the next read into the other buffer before hashing this one: update() is
      // synchronous, so `current` is free again when it returns.
      pending = handle.read(buffers[which]!, 0, HASH_CHUNK_BYTES, null);
      const chunk = bytesRead === HASH_CHUNK_BYTES ? current : current.subarray(0, bytesRead);
      sha256.update(chunk);
      sha512.update(chunk);
      size += bytesRead;
    }
    return { path, name: basename(path), size, digests: { sha256: sha256.digest('hex'), sha512: sha512.digest('hex') } };
  } catch (err) {
    if (err instanceof VerifyError) throw err;
    throw new VerifyError('KILN_VERIFY_UNREADABLE', `cannot read artifact ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      where: { file: path },
      cause: err,
    });
  } finally {
    await handle.close();
  }
}
