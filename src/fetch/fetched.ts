import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { InputSpec } from '../recipe/types.js';
import type { Store } from '../store/types.js';
import type { Digest } from '../util/digest.js';
import type { FetchError } from './errors.js';
import type { FetchOptions, InputMount } from './types.js';

/** What a fetcher hands back: the pinned bytes' digest and size, and how a step sees them (before unpacking). */
export interface Fetched {
  digest: Digest;
  size: number;
  mount: InputMount;
}

/**
 * Stores the one file a package tool (apt-get download, npm pack) left in `dir`, verified
 * against the input's integrity while it is copied in; the tool's own checks are not relied on.
 */
export async function storeToolDownload(
  store: Store,
  spec: InputSpec,
  dir: string,
  suffix: string,
  options: FetchOptions,
  misbehaved: (count: number) => FetchError,
): Promise<Fetched> {
  const files = (await readdir(dir)).filter((name) => name.endsWith(suffix));
  if (files.length !== 1) throw misbehaved(files.length);
  const put = await store.putFile(join(dir, files[0]!), {
    integrity: spec.integrity,
    signal: options.signal,
    onProgress: (n) => options.onProgress?.(spec.name, n),
  });
  return { digest: put.digest, size: put.size, mount: { kind: 'file', digest: put.digest, size: put.size, executable: false } };
}
