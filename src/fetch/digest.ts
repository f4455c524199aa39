import { lstat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ingestDirectory } from '../archive/index.js';
import type { Store } from '../store/index.js';
import { digestHex, type Digest } from '../util/digest.js';

export interface PathDigest {
  path: string;
  kind: 'file' | 'tree';
  digest: Digest;
  /** The SRI a `path` input pins this file or folder with. */
  integrity: string;
}

/**
 * The integrity of a file (its bytes) or folder (its normalized tree manifest), computed the
 * way a `path` input is fetched, so `kiln digest` prints exactly what the recipe needs.
 */
export async function digestPath(store: Store, path: string): Promise<PathDigest> {
  const abs = resolve(path);
  const st = await lstat(abs);
  if (st.isDirectory()) {
    const { digest } = await ingestDirectory(store, abs, { label: path, links: 'contained' });
    return { path, kind: 'tree', digest, integrity: sriOf(digest) };
  }
  const { digest } = await store.putFile(abs);
  return { path, kind: 'file', digest, integrity: sriOf(digest) };
}

/** `sha256:<hex>` → `sha256-<base64>`. */
export function sriOf(digest: Digest): string {
  return `sha256-${Buffer.from(digestHex(digest), 'hex').toString('base64')}`;
}
