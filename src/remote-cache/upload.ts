import type { Signer } from '../attest/types.js';
import type { BlobSource, UploadReport } from '../reapi/cas.js';
import { storeBlobOpener } from '../reapi/client.js';
import { digestOfBytes, toReapiDigest } from '../reapi/digest.js';
import { buildMerkleTree, merkleTreeMessage } from '../reapi/merkle.js';
import { treeEntriesFromMessage } from '../reapi/output.js';
import { TREE_FORMAT, type TreeManifest } from '../store/tree.js';
import type { Cas } from '../store/types.js';
import { TREE_MANIFEST_PREFIX, validateTreeManifest } from '../store/validate.js';
import { canonicalJSON } from '../util/canonical-json.js';
import { digestHex, sha256Digest, type Digest } from '../util/digest.js';
import type { RemoteCacheClient } from './client.js';
import { signCacheEntry } from './entry.js';
import { RemoteCacheError } from './errors.js';
import { actionEntryDigest, blobIndexDigest, blobIndexResult, entryResult } from './mapping.js';

/** What an action's result is, as the executor recorded it. */
export interface ResultToShare {
  actionKey: Digest;
  keyMaterial: string;
  outputTree: Digest;
  log: Digest;
}

/**
 * The REAPI form of a kiln tree: every Directory (so the folder can also be an input root of a
 * remote action without another upload), its files, and the Tree message an OutputDirectory
 * points at. Throws when the Tree would not read back as the same kiln tree (a reader could
 * never admit such an entry).
 */
export function treeForCache(manifest: TreeManifest, expected: Digest, local: Pick<Cas, 'openRandomAccess'>): { sources: BlobSource[]; tree: BlobSource & { bytes: Uint8Array } } {
  const merkle = buildMerkleTree([{ prefix: '', source: { kind: 'tree', manifest } }]);
  const message = merkleTreeMessage(merkle);
  const back = validateTreeManifest({ kiln: TREE_FORMAT, entries: treeEntriesFromMessage(message.bytes, manifest.entries.length + 1) });
  const found = sha256Digest(canonicalJSON(back));
  if (found !== expected) throw new RemoteCacheError('KILN_CACHE_MISMATCH', `the tree ${expected} reads back from its REAPI form as ${found}`);
  const open = storeBlobOpener(local);
  return {
    sources: [
      ...[...merkle.directories.values()].map((d) => ({ digest: d.digest, bytes: d.bytes })),
      ...[...merkle.files.values()].map((f) => ({ digest: toReapiDigest(f.digest, f.size), open: (offset: number) => open(f.digest, offset) })),
    ],
    tree: { digest: message.digest, bytes: message.bytes },
  };
}

/**
 * Uploads an action's result as a cache entry: what the CAS lacks of the tree, the log, the key
 * material and the signature (ONE FindMissingBlobs for them all, then batches and streams), then
 * the ActionResult. Unsigned when there is no signer.
 */
export async function uploadEntry(remote: RemoteCacheClient, local: Cas, result: ResultToShare, signer: Signer | undefined, signal?: AbortSignal): Promise<UploadReport> {
  const key = actionEntryDigest(result.actionKey, result.keyMaterial);
  const manifest = await local.readTree(result.outputTree);
  const { sources, tree } = treeForCache(manifest, result.outputTree, local);
  const logSize = await local.sizeOf(result.log);
  if (logSize === undefined) throw new RemoteCacheError('KILN_CACHE_BAD_ENTRY', `the log ${result.log} is not in the local store`);
  const open = storeBlobOpener(local);
  const log = toReapiDigest(result.log, logSize);
  const signature = signer ? signCacheEntry({ actionKey: result.actionKey, outputTree: result.outputTree, log: result.log }, signer) : undefined;
  const extra: BlobSource[] = [
    tree,
    { digest: log, open: (offset) => open(result.log, offset) },
    { digest: key, bytes: Buffer.from(result.keyMaterial, 'utf8') },
    ...(signature ? [{ digest: digestOfBytes(signature), bytes: signature }] : []),
  ];
  const call = signal ? { signal } : undefined;
  const report = await remote.uploadMissing([...sources, ...extra], call);
  await remote.updateActionResult(key, entryResult({ tree: tree.digest, log, ...(signature && { signature: digestOfBytes(signature) }) }), call);
  return report;
}

/**
 * Shares pinned blobs (inputs, Debian packages) so that other machines find them by digest:
 * each blob, and when a blob is a kiln tree manifest (a git or folder input) every file it
 * lists, uploaded with ONE FindMissingBlobs; then a size hint per blob (pins of most kinds name
 * no size, and a REAPI digest needs one).
 */
export async function shareBlobs(remote: RemoteCacheClient, local: Cas, digests: readonly Digest[], signal?: AbortSignal): Promise<UploadReport> {
  const open = storeBlobOpener(local);
  const sources: BlobSource[] = [];
  const shared: { digest: Digest; size: number }[] = [];
  for (const digest of new Set(digests)) {
    const size = await local.sizeOf(digest);
    if (size === undefined) continue;
    shared.push({ digest, size });
    sources.push({ digest: toReapiDigest(digest, size), open: (offset) => open(digest, offset) });
    const manifest = await treeManifestOf(local, digest, size);
    for (const e of manifest?.entries ?? []) {
      if (e.type === 'file') sources.push({ digest: toReapiDigest(e.digest, e.size), open: (offset) => open(e.digest, offset) });
    }
  }
  const call = signal ? { signal } : undefined;
  const report = await remote.uploadMissing(sources, call);
  for (const { digest, size } of shared) {
    await remote.updateActionResult(blobIndexDigest(digestHex(digest)).digest, blobIndexResult(toReapiDigest(digest, size)), call);
  }
  return report;
}

/** Tree manifests stay small next to what they list: a blob past this size is not read as one. */
const MAX_MANIFEST_BYTES = 64 << 20;

async function treeManifestOf(local: Cas, digest: Digest, size: number): Promise<TreeManifest | undefined> {
  if (size < TREE_MANIFEST_PREFIX.length || size > MAX_MANIFEST_BYTES) return undefined;
  const blob = await local.openRandomAccess(digest);
  try {
    let head = '';
    for await (const chunk of blob.stream(0, TREE_MANIFEST_PREFIX.length)) head += (chunk as Buffer).toString('utf8');
    if (head !== TREE_MANIFEST_PREFIX) return undefined;
  } finally {
    await blob.close();
  }
  try {
    return await local.readTree(digest);
  } catch {
    return undefined;
  }
}
