import { isDigest, type Digest } from '../util/digest.js';
import { StoreError } from './errors.js';
import { comparePaths, TREE_FORMAT, type TreeEntry, type TreeManifest } from './tree.js';
import type { ActionOrigin, ActionRecord } from './types.js';

/**
 * Canonical JSON sorts keys, and `entries` sorts before `kiln`: every stored manifest starts
 * with these bytes, so gc and stats can skip other blobs after reading a few bytes.
 */
export const TREE_MANIFEST_PREFIX = '{"entries":[';

const FILE_MODES = new Set([0o644, 0o755]);

function bad(message: string, path?: string): StoreError {
  return new StoreError('KILN_STORE_BAD_TREE', path === undefined ? message : `${message}: ${JSON.stringify(path)}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function assertKeys(obj: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw bad(`unknown key ${JSON.stringify(key)} in tree entry`, path);
  }
}

/** A relative POSIX path with no empty, `.` or `..` component and no NUL. */
export function isTreePath(path: string): boolean {
  if (path.length === 0 || path.includes('\0')) return false;
  return path.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

function validateEntry(value: unknown): TreeEntry {
  if (!isObject(value)) throw bad('a tree entry is not an object');
  const { path, type } = value;
  if (typeof path !== 'string' || !isTreePath(path)) throw bad('bad tree entry path', String(path));
  switch (type) {
    case 'dir':
      assertKeys(value, ['path', 'type'], path);
      return { path, type };
    case 'file': {
      assertKeys(value, ['path', 'type', 'mode', 'digest', 'size'], path);
      const { mode, digest, size } = value;
      if (typeof mode !== 'number' || !FILE_MODES.has(mode)) throw bad('file mode must be 0644 or 0755', path);
      if (!isDigest(digest)) throw bad('bad file digest', path);
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw bad('bad file size', path);
      return { path, type, mode: mode as 0o644 | 0o755, digest, size };
    }
    case 'symlink': {
      assertKeys(value, ['path', 'type', 'target'], path);
      const { target } = value;
      if (typeof target !== 'string' || target.length === 0 || target.includes('\0')) throw bad('bad symlink target', path);
      return { path, type, target };
    }
    default:
      throw bad(`unknown tree entry type ${JSON.stringify(type)}`, path);
  }
}

/**
 * Checks the `tree/v1` rules (src/store/tree.ts): format tag, valid relative paths, entries
 * strictly sorted by byte order (so also unique), every parent folder present as a `dir`
 * entry, file modes 0644/0755, well-formed digests. Returns the manifest, typed.
 */
export function validateTreeManifest(value: unknown): TreeManifest {
  if (!isObject(value)) throw bad('a tree manifest is not an object');
  for (const key of Object.keys(value)) {
    if (key !== 'kiln' && key !== 'entries') throw bad(`unknown key ${JSON.stringify(key)} in tree manifest`);
  }
  if (value.kiln !== TREE_FORMAT) throw bad(`tree manifest format must be ${TREE_FORMAT}`);
  if (!Array.isArray(value.entries)) throw bad('tree manifest entries must be an array');
  const dirs = new Set<string>();
  const entries: TreeEntry[] = [];
  let previous: string | undefined;
  for (const raw of value.entries) {
    const entry = validateEntry(raw);
    if (previous !== undefined) {
      const order = comparePaths(previous, entry.path);
      if (order === 0) throw bad('duplicate tree entry', entry.path);
      if (order > 0) throw bad('tree entries are not sorted by byte order at', entry.path);
    }
    const slash = entry.path.lastIndexOf('/');
    if (slash !== -1 && !dirs.has(entry.path.slice(0, slash))) throw bad('tree entry without its parent folder', entry.path);
    if (entry.type === 'dir') dirs.add(entry.path);
    entries.push(entry);
    previous = entry.path;
  }
  return { kiln: TREE_FORMAT, entries };
}

/** Pure: manifest bytes (as stored) → validated manifest. */
export function parseTreeManifest(text: string | Uint8Array): TreeManifest {
  let value: unknown;
  try {
    value = JSON.parse(typeof text === 'string' ? text : Buffer.from(text).toString('utf8'));
  } catch (err) {
    throw new StoreError('KILN_STORE_BAD_TREE', 'a tree manifest is not valid JSON', { cause: err });
  }
  return validateTreeManifest(value);
}

/** Every blob a tree lists, without duplicates. */
export function treeBlobs(manifest: TreeManifest): Digest[] {
  const out = new Set<Digest>();
  for (const entry of manifest.entries) if (entry.type === 'file') out.add(entry.digest);
  return [...out];
}

function badRecord(message: string, cause?: unknown): StoreError {
  return new StoreError('KILN_STORE_BAD_RECORD', message, cause === undefined ? {} : { cause });
}

export function validateActionRecord(value: unknown): ActionRecord {
  if (!isObject(value) || value.kiln !== 'action/v1') throw badRecord('not an action/v1 record');
  const { outputTree, log, exitCode, durationMs, createdAt } = value;
  if (!isDigest(outputTree) || !isDigest(log)) throw badRecord('action record digests are malformed');
  if (typeof exitCode !== 'number' || !Number.isSafeInteger(exitCode)) throw badRecord('action record exitCode is not an integer');
  if (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || durationMs < 0) throw badRecord('action record durationMs is malformed');
  if (typeof createdAt !== 'string') throw badRecord('action record createdAt is not a string');
  const record: ActionRecord = { kiln: 'action/v1', outputTree, log, exitCode, durationMs, createdAt };
  if (value.origin !== undefined) record.origin = validateActionOrigin(value.origin);
  return record;
}

function validateActionOrigin(value: unknown): ActionOrigin {
  if (!isObject(value) || value.kind !== 'remote-cache') throw badRecord('action record origin is not a remote-cache origin');
  const { endpoint, instance, admittedBy, keyid } = value;
  if (typeof endpoint !== 'string' || typeof instance !== 'string') throw badRecord('action record origin has no endpoint or instance');
  if (admittedBy !== 'signature' && admittedBy !== 'trusted-server') throw badRecord('action record origin says neither signature nor trusted-server');
  if (keyid !== undefined && typeof keyid !== 'string') throw badRecord('action record origin keyid is not a string');
  if (admittedBy === 'signature' && keyid === undefined) throw badRecord('action record origin admitted by a signature names no key');
  return { kind: 'remote-cache', endpoint, instance, admittedBy, ...(keyid !== undefined && { keyid }) };
}

/** Pure: action record bytes → validated record. */
export function parseActionRecord(text: string): ActionRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRecord('an action record is not valid JSON', err);
  }
  return validateActionRecord(value);
}

export interface RefRecord {
  name: string;
  digest: Digest;
}

/** Pure: ref file bytes → `{name, digest}`. */
export function parseRef(text: string): RefRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRecord('a ref is not valid JSON', err);
  }
  if (!isObject(value) || typeof value.name !== 'string' || !isDigest(value.digest)) throw badRecord('a ref is malformed');
  return { name: value.name, digest: value.digest };
}
