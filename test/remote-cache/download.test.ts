import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createSigner, generateKeyPair, loadTrustedKey } from '../../src/attest/index.js';
import { digestKey, digestOfBytes, type ActionResult, type ReapiDigest } from '../../src/reapi/index.js';
import { DEFAULT_ENTRY_BUDGETS, downloadEntry, entryResult, signCacheEntry, treeForCache, type RemoteCacheClient } from '../../src/remote-cache/index.js';
import { createMemoryStore, type TreeManifest } from '../../src/store/index.js';
import { sha256Digest } from '../../src/util/digest.js';
import { rejectsWithCode } from '../helpers/index.js';

// downloadEntry's budgets against a CAS held in memory (the real cluster plays the attacks in
// buildbarn.test.ts): what a hostile entry can make kiln read is bounded before anything is decided.

function memoryCas(blobs: Array<{ digest: ReapiDigest; bytes: Uint8Array }>): RemoteCacheClient & { reads: ReapiDigest[] } {
  const cas = new Map(blobs.map((b) => [digestKey(b.digest), Buffer.from(b.bytes)]));
  const reads: ReapiDigest[] = [];
  const unused = () => {
    throw new Error('not used by downloadEntry');
  };
  return {
    reads,
    endpoint: 'grpc://127.0.0.1:1',
    instanceName: '',
    findMissingBlobs: async (ds) => ds.filter((d) => !cas.has(digestKey(d))),
    readBlobs: async (ds) => {
      reads.push(...ds);
      return new Map(ds.map((d) => [digestKey(d), cas.get(digestKey(d))!]));
    },
    uploadMissing: unused,
    openBlobStream: unused,
    getActionResult: unused,
    updateActionResult: unused,
    close: () => {},
  };
}

const decoded = (partial: Partial<ActionResult>): ActionResult => ({
  outputFiles: [], outputDirectories: [], outputSymlinks: [], outputFileSymlinks: [], outputDirectorySymlinks: [],
  exitCode: 0, stdoutRaw: Buffer.alloc(0), stderrRaw: Buffer.alloc(0), ...partial,
});

async function entry(files: number) {
  const writer = createMemoryStore();
  const manifest: TreeManifest = { kiln: 'tree/v1', entries: [] };
  for (let i = 0; i < files; i++) {
    const put = await writer.putBytes(`file ${i}\n`);
    manifest.entries.push({ path: `f${String(i).padStart(3, '0')}`, type: 'file', mode: 0o644, digest: put.digest, size: put.size });
  }
  const outputTree = await writer.putTree(manifest);
  const log = Buffer.from('the log\n');
  const actionKey = sha256Digest('key material');
  const pair = generateKeyPair();
  const envelope = signCacheEntry({ actionKey, outputTree, log: sha256Digest(log) }, createSigner(pair.privateKeyPem));
  const tree = treeForCache(manifest, outputTree, writer);
  const files_ = await Promise.all(manifest.entries.map(async (e) => (e.type === 'file' ? { digest: digestOfBytes(await writer.readBlob(e.digest)), bytes: await writer.readBlob(e.digest) } : undefined)));
  const blobs = [tree.tree, { digest: digestOfBytes(log), bytes: log }, { digest: digestOfBytes(envelope), bytes: envelope }, ...files_.filter((f) => f !== undefined)];
  const result = decoded(entryResult({ tree: tree.tree.digest, log: digestOfBytes(log), signature: digestOfBytes(envelope) }));
  return { actionKey, outputTree, result, blobs, trust: { keys: [loadTrustedKey(pair.publicKeyPem, 'ci.pub')], trustServer: false } };
}

const budgets = suite('downloadEntry: budgets');

budgets('an entry within the budgets is admitted and its files are stored', async () => {
  const e = await entry(3);
  const local = createMemoryStore();
  const got = await downloadEntry(memoryCas(e.blobs), local, e.actionKey, e.result, e.trust, DEFAULT_ENTRY_BUDGETS);
  assert.is(got.outputTree, e.outputTree);
  assert.is(got.admission.admittedBy, 'signature');
  assert.is(got.fetchedBlobs, 4);
  assert.is((await local.readTree(e.outputTree)).entries.length, 3);
});

budgets('a Tree or an envelope over its budget is refused before anything is read', async () => {
  const e = await entry(3);
  const cas = memoryCas(e.blobs);
  const local = createMemoryStore();
  const tree = await rejectsWithCode<{ budget: unknown }>(() => downloadEntry(cas, local, e.actionKey, e.result, e.trust, { ...DEFAULT_ENTRY_BUDGETS, maxTreeBytes: 16 }), 'KILN_CACHE_BAD_ENTRY');
  assert.equal(tree.budget, { name: 'cache.maxTreeBytes', limit: 16 });
  const sig = await rejectsWithCode<{ budget: unknown }>(() => downloadEntry(cas, local, e.actionKey, e.result, e.trust, { ...DEFAULT_ENTRY_BUDGETS, maxSignatureBytes: 100 }), 'KILN_CACHE_BAD_ENTRY');
  assert.equal(sig.budget, { name: 'cache.maxSignatureBytes', limit: 100 });
  assert.equal(cas.reads, []);
});

budgets('a Tree with more entries than the budget is refused before a file is read', async () => {
  const e = await entry(20);
  const cas = memoryCas(e.blobs);
  const local = createMemoryStore();
  const err = await rejectsWithCode<Error>(() => downloadEntry(cas, local, e.actionKey, e.result, e.trust, { ...DEFAULT_ENTRY_BUDGETS, maxEntries: 10 }), 'KILN_REAPI_BAD_RESPONSE');
  assert.match(err.message, 'more than 10 entries');
  // Only the Tree and the envelope were read; no file reached the store.
  assert.is(cas.reads.length, 2);
  assert.equal(await local.findMissing([e.outputTree]), [e.outputTree]);
});

budgets.run();
