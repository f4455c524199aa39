import { type Store, TREE_FORMAT, type TreeEntry, type TreeManifest, comparePaths } from '../store/index.js';
import type { Digest } from '../util/digest.js';
import { readByteStream } from './bytestream.js';
import { readBlobs } from './cas.js';
import type { CallOptions, Connection } from './connection.js';
import { assertReapiDigest, digestKey, digestOfBytes, fromReapiDigest, type ReapiDigest } from './digest.js';
import { ReapiError } from './errors.js';
import type { ActionResult, Directory } from './messages.js';
import { decode, REAPI_PACKAGE } from './proto.js';
import { splitTree } from './tree-wire.js';

/** What fetching an output tree needs of kiln's store. */
export type OutputStore = Pick<Store, 'has' | 'putBytes' | 'putStream' | 'putTree'>;

export interface FetchOutputOptions extends CallOptions {
  /** Entries (files, folders, symlinks) the tree may hold (default 1,000,000). */
  maxEntries?: number;
  /** Bytes of the Tree message itself (default 64 MiB). */
  maxTreeBytes?: number;
  /**
   * Sees the tree's entries before any file is downloaded, and may refuse them by throwing
   * (a remote engine holds an output to its sandbox's size limit before it fills the store).
   */
  checkEntries?: (entries: TreeEntry[]) => void;
}

export interface FetchedOutput {
  manifest: TreeManifest;
  /** The kiln tree's digest in the store. */
  tree: Digest;
  /** Blobs the store lacked and that were downloaded, and their bytes. */
  fetchedBlobs: number;
  fetchedBytes: number;
}

const DEFAULT_MAX_ENTRIES = 1_000_000;
const DEFAULT_MAX_TREE_BYTES = 64 * 1024 * 1024;
/** Files up to this size come in batches; larger ones stream into the store. */
const STREAM_FROM_BYTES = 4 * 1024 * 1024;
/** Bytes held in memory at once while small files come in batches. */
const BATCH_GROUP_BYTES = 32 * 1024 * 1024;

function bad(why: string): ReapiError {
  return new ReapiError('KILN_REAPI_BAD_RESPONSE', `output tree: ${why}`);
}

/** A name a Directory may hold: one path segment (REAPI v2, "Directory"). */
function assertName(name: string, where: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw bad(`${where} holds the unsafe name ${JSON.stringify(name)}`);
  }
}

/**
 * The entries of a REAPI Tree message as kiln tree entries, pure: each child Directory is found by
 * the sha256 of its bytes, names are single safe segments, a name appears once per folder, and
 * the walk stops at `maxEntries` (a DAG that reuses a folder a million times is refused, not
 * expanded).
 */
export function treeEntriesFromMessage(treeBytes: Uint8Array, maxEntries: number): TreeEntry[] {
  const { root, children } = splitTree(treeBytes, maxEntries);
  const byHash = new Map<string, Buffer>();
  for (const c of children) byHash.set(digestOfBytes(c).hash, c);
  const decoded = new Map<string, Directory>();
  const directory = (bytes: Buffer, where: string): Directory => {
    const key = digestOfBytes(bytes).hash;
    let d = decoded.get(key);
    if (!d) {
      try {
        d = decode<Directory>(`${REAPI_PACKAGE}.Directory`, bytes);
      } catch (err) {
        throw new ReapiError('KILN_REAPI_BAD_RESPONSE', `output tree: ${where} does not decode as a Directory`, { cause: err });
      }
      decoded.set(key, d);
    }
    return d;
  };
  const entries: TreeEntry[] = [];
  const walk = (bytes: Buffer, prefix: string) => {
    const where = prefix === '' ? 'the root' : prefix;
    const d = directory(bytes, where);
    const seen = new Set<string>();
    const add = (name: string) => {
      assertName(name, where);
      if (seen.has(name)) throw bad(`${where} holds ${JSON.stringify(name)} twice`);
      seen.add(name);
      if (entries.length >= maxEntries) throw bad(`holds more than ${maxEntries} entries`);
      return prefix === '' ? name : `${prefix}/${name}`;
    };
    for (const f of d.files) {
      const path = add(f.name);
      assertReapiDigest(f.digest, `the digest of ${path}`);
      entries.push({ path, type: 'file', mode: f.isExecutable ? 0o755 : 0o644, digest: fromReapiDigest(f.digest), size: f.digest.sizeBytes });
    }
    for (const s of d.symlinks) {
      const path = add(s.name);
      if (s.target === '' || s.target.includes('\0')) throw bad(`symlink ${path} has an unusable target`);
      entries.push({ path, type: 'symlink', target: s.target });
    }
    for (const sub of d.directories) {
      const path = add(sub.name);
      assertReapiDigest(sub.digest, `the digest of ${path}`);
      const child = byHash.get(sub.digest.hash);
      if (!child || child.length !== sub.digest.sizeBytes) throw bad(`the folder ${path} (${digestKey(sub.digest)}) is not in the Tree`);
      entries.push({ path, type: 'dir' });
      walk(child, path);
    }
  };
  walk(root, '');
  return entries.sort((a, b) => comparePaths(a.path, b.path));
}

/** Downloads into the store every file blob of `entries` that it lacks, verified twice (here and by the store). */
async function fetchFiles(conn: Connection, entries: TreeEntry[], store: OutputStore, options?: CallOptions): Promise<{ blobs: number; bytes: number }> {
  const wanted = new Map<Digest, number>();
  for (const e of entries) if (e.type === 'file') wanted.set(e.digest, e.size);
  const missing: ReapiDigest[] = [];
  for (const [digest, size] of wanted) {
    if (!(await store.has(digest))) missing.push({ hash: digest.slice('sha256:'.length), sizeBytes: size });
  }
  const small = missing.filter((d) => d.sizeBytes <= STREAM_FROM_BYTES);
  const large = missing.filter((d) => d.sizeBytes > STREAM_FROM_BYTES);
  for (let i = 0; i < small.length; ) {
    const group: ReapiDigest[] = [];
    let bytes = 0;
    while (i < small.length && (group.length === 0 || bytes + small[i]!.sizeBytes <= BATCH_GROUP_BYTES)) {
      bytes += small[i]!.sizeBytes;
      group.push(small[i++]!);
    }
    const got = await readBlobs(conn, group, { ...options, maxBytes: Math.max(bytes, 1) });
    for (const d of group) await store.putBytes(got.get(digestKey(d))!, { digest: fromReapiDigest(d) });
  }
  for (const d of large) {
    await store.putStream(readByteStream(conn, d, options), { digest: fromReapiDigest(d), ...(options?.signal && { signal: options.signal }) });
  }
  return { blobs: missing.length, bytes: missing.reduce((n, d) => n + d.sizeBytes, 0) };
}

/**
 * Brings the output folder `path` of an action result (e.g. `kiln/out`) into kiln's store as a
 * kiln tree: the Tree message and every file verified by digest, files the store already has
 * left alone. An action that did not create the folder gives an empty tree; a file or symlink in
 * its place is refused.
 */
export async function fetchOutputDirectory(conn: Connection, result: ActionResult, path: string, store: OutputStore, options: FetchOutputOptions = {}): Promise<FetchedOutput> {
  const dir = result.outputDirectories.find((d) => d.path === path);
  let entries: TreeEntry[] = [];
  let fetched = { blobs: 0, bytes: 0 };
  if (!dir) {
    const other = [...result.outputFiles, ...result.outputSymlinks, ...result.outputFileSymlinks, ...result.outputDirectorySymlinks].find((o) => o.path === path);
    if (other) throw bad(`${path} came back as a file or symlink, not a folder`);
  } else {
    assertReapiDigest(dir.treeDigest, `the Tree digest of ${path}`);
    const maxTreeBytes = options.maxTreeBytes ?? DEFAULT_MAX_TREE_BYTES;
    if (dir.treeDigest.sizeBytes > maxTreeBytes) throw bad(`the Tree of ${path} is ${dir.treeDigest.sizeBytes} bytes, over the budget of ${maxTreeBytes}`);
    const treeBytes = (await readBlobs(conn, [dir.treeDigest], { ...options, maxBytes: maxTreeBytes })).get(digestKey(dir.treeDigest))!;
    entries = treeEntriesFromMessage(treeBytes, options.maxEntries ?? DEFAULT_MAX_ENTRIES);
    options.checkEntries?.(entries);
    fetched = await fetchFiles(conn, entries, store, options);
  }
  const manifest: TreeManifest = { kiln: TREE_FORMAT, entries };
  return { manifest, tree: await store.putTree(manifest), fetchedBlobs: fetched.blobs, fetchedBytes: fetched.bytes };
}
