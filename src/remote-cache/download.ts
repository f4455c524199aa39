import { digestKey, fromReapiDigest, toReapiDigest, type ReapiDigest } from '../reapi/digest.js';
import type { ActionResult } from '../reapi/messages.js';
import { treeEntriesFromMessage } from '../reapi/output.js';
import { TREE_FORMAT, type TreeManifest } from '../store/tree.js';
import type { Cas } from '../store/types.js';
import { validateTreeManifest } from '../store/validate.js';
import { canonicalJSON } from '../util/canonical-json.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import type { RemoteCacheClient } from './client.js';
import { admitCacheEntry, type Admission, type CacheTrust } from './entry.js';
import { RemoteCacheError } from './errors.js';
import { entryDigestsOf } from './mapping.js';

/** Budgets of one entry: what a hostile cache can make kiln read before anything is decided. */
export interface EntryBudgets {
  /** Bytes of the REAPI Tree message (default 64 MiB). */
  maxTreeBytes: number;
  /** Files, folders and symlinks of the tree (default 1,000,000). */
  maxEntries: number;
  /** Bytes of the signature envelope (default 64 KiB). */
  maxSignatureBytes: number;
}

export const DEFAULT_ENTRY_BUDGETS: EntryBudgets = { maxTreeBytes: 64 << 20, maxEntries: 1_000_000, maxSignatureBytes: 64 << 10 };

/** Files up to this size come in batches; larger ones stream into the store. */
const STREAM_FROM_BYTES = 4 << 20;
/** Bytes held in memory at once while small files come in batches. */
const BATCH_GROUP_BYTES = 32 << 20;
/** Large blobs streamed at once. */
const STREAMS_AT_ONCE = 4;

/** An entry admitted and brought into the local store. */
export interface DownloadedEntry {
  outputTree: Digest;
  log: Digest;
  admission: Admission;
  /** Blobs the local store lacked and that came from the cache, and their bytes. */
  fetchedBlobs: number;
  fetchedBytes: number;
}

/**
 * Checks an action cache entry and brings it into `local`, in this order so that nothing is
 * downloaded for an entry that will be refused: the Tree message and the signature (one batch,
 * each verified by digest); the Tree becomes a kiln tree manifest, whose digest the signed claim
 * must name together with `actionKey` and the log (`admitCacheEntry`); only then the files and
 * the log the local store lacks (one `findMissing`, batched reads), each verified by digest on
 * the wire and again by the store. Throws RemoteCacheError (refused), ReapiError (the cache
 * misbehaved or is unreachable), StoreError (a manifest kiln would never write).
 */
export async function downloadEntry(remote: RemoteCacheClient, local: Cas, actionKey: Digest, result: ActionResult, trust: CacheTrust, budgets: EntryBudgets, signal?: AbortSignal): Promise<DownloadedEntry> {
  const entry = entryDigestsOf(result);
  if (entry.tree.sizeBytes > budgets.maxTreeBytes) throw overBudget(`its Tree is ${entry.tree.sizeBytes} bytes`, 'cache.maxTreeBytes', budgets.maxTreeBytes);
  if (entry.signature && entry.signature.sizeBytes > budgets.maxSignatureBytes) {
    throw overBudget(`its signature is ${entry.signature.sizeBytes} bytes`, 'cache.maxSignatureBytes', budgets.maxSignatureBytes);
  }
  const wanted = [entry.tree, ...(entry.signature ? [entry.signature] : [])];
  const got = await remote.readBlobs(wanted, { maxBytes: budgets.maxTreeBytes + budgets.maxSignatureBytes, ...(signal && { signal }) });
  const manifest = validateTreeManifest({ kiln: TREE_FORMAT, entries: treeEntriesFromMessage(got.get(digestKey(entry.tree))!, budgets.maxEntries) });
  const outputTree = sha256Digest(canonicalJSON(manifest));
  const log = fromReapiDigest(entry.log);
  const signature = entry.signature ? got.get(digestKey(entry.signature)) : undefined;
  const admission = admitCacheEntry(signature, { actionKey, outputTree, log }, trust);
  const fetched = await pullBlobs(remote, local, [...fileBlobs(manifest), entry.log], signal);
  const stored = await local.putTree(manifest);
  if (stored !== outputTree) throw new RemoteCacheError('KILN_CACHE_MISMATCH', `the output tree was stored as ${stored}, not ${outputTree}`);
  return { outputTree, log, admission, fetchedBlobs: fetched.blobs, fetchedBytes: fetched.bytes };
}

function fileBlobs(manifest: TreeManifest): ReapiDigest[] {
  return manifest.entries.flatMap((e) => (e.type === 'file' ? [toReapiDigest(e.digest, e.size)] : []));
}

/**
 * Brings into `local` every blob of `blobs` it lacks (one findMissing), each verified by digest
 * twice: on the wire (the client) and by the store. Small blobs in batches, large ones streamed.
 */
export async function pullBlobs(remote: RemoteCacheClient, local: Pick<Cas, 'findMissing' | 'putBytes' | 'putStream'>, blobs: ReapiDigest[], signal?: AbortSignal): Promise<{ blobs: number; bytes: number }> {
  const sizes = new Map<Digest, number>();
  for (const b of blobs) sizes.set(fromReapiDigest(b), b.sizeBytes);
  const missing = (await local.findMissing([...sizes.keys()])).map((d) => toReapiDigest(d, sizes.get(d)!));
  const small = missing.filter((d) => d.sizeBytes <= STREAM_FROM_BYTES);
  const large = missing.filter((d) => d.sizeBytes > STREAM_FROM_BYTES);
  const call = signal ? { signal } : {};
  for (const group of groupsOf(small, BATCH_GROUP_BYTES)) {
    const bytes = group.reduce((n, d) => n + d.sizeBytes, 0);
    const read = await remote.readBlobs(group, { ...call, maxBytes: Math.max(bytes, 1) });
    await Promise.all(group.map((d) => local.putBytes(read.get(digestKey(d))!, { digest: fromReapiDigest(d) })));
  }
  let next = 0;
  const lane = async () => {
    while (next < large.length) {
      const d = large[next++]!;
      await local.putStream(remote.openBlobStream(d, call), { digest: fromReapiDigest(d), ...call });
    }
  };
  await Promise.all(Array.from({ length: Math.min(STREAMS_AT_ONCE, large.length) }, lane));
  return { blobs: missing.length, bytes: missing.reduce((n, d) => n + d.sizeBytes, 0) };
}

/** Consecutive groups whose sizes stay within `limit` (a larger item is a group alone). */
function groupsOf(items: ReapiDigest[], limit: number): ReapiDigest[][] {
  const groups: ReapiDigest[][] = [];
  let current: ReapiDigest[] = [];
  let total = 0;
  for (const d of items) {
    if (current.length > 0 && total + d.sizeBytes > limit) {
      groups.push(current);
      current = [];
      total = 0;
    }
    current.push(d);
    total += d.sizeBytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

function overBudget(what: string, name: string, limit: number): RemoteCacheError {
  return new RemoteCacheError('KILN_CACHE_BAD_ENTRY', `not a kiln cache entry: ${what}, over the budget of ${limit}`, { budget: { name, limit } });
}
