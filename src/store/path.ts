import { homedir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { isDigest, type Digest } from '../util/digest.js';
import { StoreError } from './errors.js';
import { showValue } from '../util/show-value.js';

/** The on-disk layout version: a new layout gets a new folder, never a silent reinterpretation. */
export const STORE_LAYOUT = 'v1';

/** Namespaces of refs: a path component, so kept to a safe alphabet. */
export const REF_NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;

/**
 * Where the store lives: `options.root`, else `$KILN_STORE`, else `$XDG_CACHE_HOME/kiln`,
 * else `~/.cache/kiln`. Pure: the environment and home folder are parameters.
 */
export function resolveStoreRoot(
  root: string | undefined,
  env: Record<string, string | undefined> = process.env,
  home: string = homedir(),
): string {
  if (root) return root;
  if (env.KILN_STORE) return env.KILN_STORE;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'kiln');
  return join(home, '.cache', 'kiln');
}

export function assertDigest(value: unknown): asserts value is Digest {
  if (!isDigest(value)) throw new StoreError('KILN_STORE_BAD_DIGEST', `not a sha256 digest: ${showValue(value)}`);
}

/** `<root>/v1` */
export function layoutRoot(root: string): string {
  return join(root, STORE_LAYOUT);
}

export function casDir(root: string): string {
  return join(root, STORE_LAYOUT, 'cas', 'sha256');
}

export function tmpDir(root: string): string {
  return join(root, STORE_LAYOUT, 'tmp');
}

export function acDir(root: string): string {
  return join(root, STORE_LAYOUT, 'ac');
}

export function refsDir(root: string): string {
  return join(root, STORE_LAYOUT, 'refs');
}

/**
 * The one mapping from a digest to its blob's path; the first two hex characters fan the
 * objects out over 256 folders.
 *
 * Example: blobPathFor('/s', 'sha256:2cf24dba…9824')
 *   → '/s/v1/cas/sha256/2c/f24dba…9824'
 */
export function blobPathFor(root: string, digest: Digest): string {
  assertDigest(digest);
  const hex = digest.slice(7);
  return join(casDir(root), hex.slice(0, 2), hex.slice(2));
}

/** The digest a blob path under `cas/sha256/<2>/<62>` stands for, or undefined for a stray file. */
export function digestFromBlobPath(fanout: string, name: string): Digest | undefined {
  const d = `sha256:${fanout}${name}`;
  return isDigest(d) ? d : undefined;
}

/** Example: actionPathFor('/s', 'sha256:ab12…') → '/s/v1/ac/ab/ab12….json' */
export function actionPathFor(root: string, key: Digest): string {
  assertDigest(key);
  const hex = key.slice(7);
  return join(acDir(root), hex.slice(0, 2), `${hex}.json`);
}

/**
 * Refs are keyed by the sha256 of their name, since names such as SRI strings hold `/` and `+`.
 * Example: refPathFor('/s', 'integrity', 'sha256-abc…') → '/s/v1/refs/integrity/<sha256 hex of the name>.json'
 */
export function refPathFor(root: string, namespace: string, name: string): string {
  if (!REF_NAMESPACE_PATTERN.test(namespace)) {
    throw new StoreError('KILN_STORE_BAD_RECORD', `bad ref namespace: ${JSON.stringify(namespace)}`);
  }
  if (typeof name !== 'string' || name.length === 0) {
    throw new StoreError('KILN_STORE_BAD_RECORD', `bad ref name in namespace ${namespace}`);
  }
  const hex = createHash('sha256').update(name).digest('hex');
  return join(refsDir(root), namespace, `${hex}.json`);
}
