import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { REF } from '../store/refs.js';
import type { Store } from '../store/types.js';
import { canonicalJSON } from '../util/canonical-json.js';
import type { Digest } from '../util/digest.js';
import { FetchError } from './errors.js';

export interface PathDigest {
  /** Absolute path. */
  path: string;
  kind: 'file' | 'tree';
  /** sha256 of the file, or of the folder's tree manifest (canonical JSON). */
  digest: Digest;
  size: number;
  /** What a recipe's `integrity:` for this `path` input must say (sha256 SRI). */
  integrity: string;
}

/**
 * Computes the pin for a local file or folder (`kiln digest`), exactly as a `path` input is
 * checked: a file's bytes, or a folder's tree manifest. The content is stored and its
 * integrity ref recorded, so the next fetch of the input is served from the store.
 */
export async function digestPath(store: Store, path: string): Promise<PathDigest> {
  const abs = resolve(path);
  const info = await stat(abs).catch((err: NodeJS.ErrnoException) => {
    throw new FetchError('KILN_FETCH_NOT_FOUND', abs, `${path} does not exist`, { cause: err });
  });
  let result: PathDigest;
  if (info.isFile()) {
    const put = await store.putFile(abs);
    result = { path: abs, kind: 'file', digest: put.digest, size: put.size, integrity: put.integrity };
  } else if (info.isDirectory()) {
    const { ingestDirectory } = await import('../archive/index.js');
    const { manifest, digest } = await ingestDirectory(store, abs, { label: path, links: 'contained' });
    const bytes = Buffer.from(canonicalJSON(manifest));
    const integrity = `sha256-${createHash('sha256').update(bytes).digest('base64')}`;
    result = { path: abs, kind: 'tree', digest, size: bytes.length, integrity };
  } else {
    throw new FetchError('KILN_FETCH_UNSUPPORTED', abs, `${path} is neither a file nor a folder`);
  }
  await store.setRef(REF.integrity, result.integrity, result.digest);
  return result;
}

/** `kiln digest` as one call: digestPath into the given store, default the user's. */
export async function digest(path: string, options: { store?: Store } = {}): Promise<PathDigest> {
  const store = options.store ?? (await (await import('../store/index.js')).createStore());
  return digestPath(store, path);
}
