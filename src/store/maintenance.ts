import { readFile } from 'node:fs/promises';
import type { Digest } from '../util/digest.js';
import { StoreError } from './errors.js';
import { mapLimit } from '../util/map-limit.js';
import { listOneLevel, listTwoLevels, removeFile } from './fsutil.js';
import { acDir, blobPathFor, casDir, digestFromBlobPath, refsDir, tmpDir } from './path.js';
import { hashFile, looksLikeTree } from './read.js';
import type { ActionRecord, Store, StoreGcOptions, StoreGcReport, StoreStats, StoreVerifyReport } from './types.js';
import { parseActionRecord, parseRef, parseTreeManifest, treeBlobs } from './validate.js';

/** The local store as maintenance sees it, from inside: its folder and the deep completeness check. */
export interface MaintainedStore extends Store {
  readonly root: string;
  actionComplete(record: ActionRecord): Promise<boolean>;
}

export const DEFAULT_GC_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * Blobs and temp files younger than this are never swept: a concurrent kiln may have written
 * them and not yet recorded the action or ref that makes them reachable.
 */
export const GC_GRACE_MS = 60 * 60 * 1000;

/** Hashing is CPU-bound and the build machines have two cores. */
const VERIFY_CONCURRENCY = 2;

async function isTreeBlob(store: MaintainedStore, digest: Digest): Promise<boolean> {
  if (!(await looksLikeTree(blobPathFor(store.root, digest)))) return false;
  try {
    parseTreeManifest(await store.readBlob(digest));
    return true;
  } catch (err) {
    if (err instanceof StoreError) return false;
    throw err;
  }
}

async function readRecord<T>(path: string, parse: (text: string) => T): Promise<T | undefined> {
  try {
    return parse(await readFile(path, 'utf8'));
  } catch (err) {
    if (err instanceof StoreError || (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function statsOf(store: MaintainedStore): Promise<StoreStats> {
  const stats: StoreStats = { root: store.root, blobs: 0, blobBytes: 0, trees: 0, actions: 0, refs: 0, tempFiles: 0 };
  for await (const blob of listTwoLevels(casDir(store.root))) {
    const digest = digestFromBlobPath(blob.parent, blob.name);
    if (!digest) continue;
    stats.blobs++;
    stats.blobBytes += blob.size;
    if (await isTreeBlob(store, digest).catch(() => false)) stats.trees++;
  }
  for await (const _ of listTwoLevels(acDir(store.root))) stats.actions++;
  for await (const _ of listTwoLevels(refsDir(store.root))) stats.refs++;
  for await (const _ of listOneLevel(tmpDir(store.root))) stats.tempFiles++;
  return stats;
}

/**
 * Rehashes every blob and removes the ones that no longer match their address; then removes
 * action records and refs that are unreadable or point at missing objects (so a later build
 * sees a miss and redoes the work instead of failing).
 */
export async function verifyStore(store: MaintainedStore): Promise<StoreVerifyReport> {
  const report: StoreVerifyReport = { checked: 0, corrupt: [], dangling: [] };
  const blobs: { digest: Digest; path: string }[] = [];
  for await (const blob of listTwoLevels(casDir(store.root))) {
    const digest = digestFromBlobPath(blob.parent, blob.name);
    if (digest) blobs.push({ digest, path: blob.path });
  }
  await mapLimit(blobs, VERIFY_CONCURRENCY, async ({ digest, path }) => {
    let found: Digest;
    try {
      found = await hashFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // removed concurrently
      throw err;
    }
    report.checked++;
    if (found !== digest) {
      report.corrupt.push(digest);
      await removeFile(path);
    }
  });
  report.corrupt.sort();

  for await (const file of listTwoLevels(acDir(store.root))) {
    const record = await readRecord(file.path, parseActionRecord);
    if (record && (await store.actionComplete(record))) continue;
    report.dangling.push(`ac/${file.name.replace(/\.json$/, '')}`);
    await removeFile(file.path);
  }
  for await (const file of listTwoLevels(refsDir(store.root))) {
    const ref = await readRecord(file.path, parseRef);
    if (ref && (await store.has(ref.digest))) continue;
    report.dangling.push(`refs/${file.parent}/${ref?.name ?? file.name}`);
    await removeFile(file.path);
  }
  return report;
}

/**
 * Mark and sweep. Roots: action records and refs used (mtime) within `maxAgeMs`; older ones
 * are removed. Marked: each root's digests, an action's output tree with every blob it lists
 * and its log, and for any marked blob that is a `tree/v1` manifest (a ref may point at a
 * tree), the blobs it lists. Swept: unmarked blobs and temp files older than GC_GRACE_MS.
 */
export async function gcStore(store: MaintainedStore, options: StoreGcOptions = {}): Promise<StoreGcReport> {
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_GC_MAX_AGE_MS;
  const dryRun = options.dryRun ?? false;
  const now = Date.now();
  const report: StoreGcReport = { removedBlobs: 0, removedBytes: 0, removedActions: 0, removedRefs: 0, removedTempFiles: 0 };
  const remove = async (path: string): Promise<boolean> => (dryRun ? true : removeFile(path));

  const pending: Digest[] = [];
  for await (const file of listTwoLevels(acDir(store.root))) {
    if (file.mtimeMs < now - maxAgeMs) {
      if (await remove(file.path)) report.removedActions++;
      continue;
    }
    const record = await readRecord(file.path, parseActionRecord);
    if (record) pending.push(record.outputTree, record.log);
  }
  for await (const file of listTwoLevels(refsDir(store.root))) {
    if (file.mtimeMs < now - maxAgeMs) {
      if (await remove(file.path)) report.removedRefs++;
      continue;
    }
    const ref = await readRecord(file.path, parseRef);
    if (ref) pending.push(ref.digest);
  }

  const marked = new Set<Digest>();
  while (pending.length > 0) {
    const digest = pending.pop()!;
    if (marked.has(digest)) continue;
    marked.add(digest);
    if (await isTreeBlob(store, digest)) pending.push(...treeBlobs(parseTreeManifest(await store.readBlob(digest))));
  }

  for await (const blob of listTwoLevels(casDir(store.root))) {
    const digest = digestFromBlobPath(blob.parent, blob.name);
    if (!digest || marked.has(digest) || blob.mtimeMs >= now - GC_GRACE_MS) continue;
    if (await remove(blobPathFor(store.root, digest))) {
      report.removedBlobs++;
      report.removedBytes += blob.size;
    }
  }
  for await (const temp of listOneLevel(tmpDir(store.root))) {
    if (temp.mtimeMs < now - GC_GRACE_MS && (await remove(temp.path))) report.removedTempFiles++;
  }
  return report;
}
