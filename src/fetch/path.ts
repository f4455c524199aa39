import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { PathInputSpec } from '../recipe/types.js';
import type { Store } from '../store/types.js';
import { canonicalJSON } from '../util/canonical-json.js';
import { inputError } from './errors.js';
import { checkSRI } from './integrity.js';
import type { FetchOptions, InputMount } from './types.js';
import type { Fetched } from './fetched.js';

/** `path` is relative to the recipe's folder; an absolute path is taken as written. */
export function resolveInputPath(spec: PathInputSpec, recipeDir: string): string {
  return isAbsolute(spec.path) ? spec.path : resolve(recipeDir, spec.path);
}

export function pathUri(spec: PathInputSpec): string {
  return `file:${spec.path}`;
}

/**
 * A local file goes into the store verified against its SRI while read; a folder is ingested
 * as a tree and its manifest (canonical JSON) is checked against the SRI. The folder's blobs
 * are already stored when that check runs, so a mismatch leaves them (gc collects them) but
 * no ref: nothing points at the folder's tree.
 */
export async function fetchPath(store: Store, spec: PathInputSpec, options: FetchOptions): Promise<Fetched> {
  const path = resolveInputPath(spec, options.recipeDir);
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') {
      throw inputError(spec, 'KILN_FETCH_NOT_FOUND', `${spec.path} does not exist`, { cause: err, hint: 'paths are relative to the recipe\'s folder' });
    }
    throw inputError(spec, 'KILN_FETCH_IO', `cannot read ${spec.path}: ${err.message}`, { cause: err });
  });
  if (info.isFile()) {
    const put = await store.putFile(path, {
      integrity: spec.integrity,
      signal: options.signal,
      onProgress: (n) => options.onProgress?.(spec.name, n, info.size),
    });
    const mount: InputMount = { kind: 'file', digest: put.digest, size: put.size, executable: (info.mode & 0o111) !== 0 };
    return { digest: put.digest, size: put.size, mount };
  }
  if (info.isDirectory()) {
    if (spec.unpack) throw inputError(spec, 'KILN_FETCH_UNSUPPORTED', `${spec.path} is a folder: unpack applies to archive files only`);
    const { ingestDirectory } = await import('../archive/index.js');
    const { manifest, digest } = await ingestDirectory(store, path, { label: spec.name, links: 'contained' });
    const bytes = Buffer.from(canonicalJSON(manifest));
    checkSRI(spec, bytes);
    return { digest, size: bytes.length, mount: { kind: 'tree', tree: digest } };
  }
  throw inputError(spec, 'KILN_FETCH_UNSUPPORTED', `${spec.path} is neither a file nor a folder`);
}
