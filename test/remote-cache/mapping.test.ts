import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { digestOfBytes } from '../../src/reapi/index.js';
import type { ActionResult } from '../../src/reapi/index.js';
import { actionEntryDigest, blobIndexDigest, blobIndexResult, entryDigestsOf, entryResult, sizeFromBlobIndex, treeForCache } from '../../src/remote-cache/index.js';
import { createMemoryStore, type TreeManifest } from '../../src/store/index.js';
import { canonicalJSON } from '../../src/util/canonical-json.js';
import { sha256Digest } from '../../src/util/digest.js';
import { throwsWithCode } from '../helpers/index.js';

/** An ActionResult as the client decodes one: every field present. */
function decoded(partial: Partial<ActionResult>): ActionResult {
  return {
    outputFiles: [], outputDirectories: [], outputSymlinks: [], outputFileSymlinks: [], outputDirectorySymlinks: [],
    exitCode: 0, stdoutRaw: Buffer.alloc(0), stderrRaw: Buffer.alloc(0), ...partial,
  };
}

const keys = suite('actionEntryDigest');

keys('is the action key with the size of its material', () => {
  const material = canonicalJSON({ kiln: 'action-key/v1', argv: ['sh', '-c', 'echo é'] });
  const d = actionEntryDigest(sha256Digest(material), material);
  assert.is(`sha256:${d.hash}`, sha256Digest(material));
  assert.is(d.sizeBytes, Buffer.byteLength(material));
});

keys('refuses material that does not hash to the key', () => {
  throwsWithCode(() => actionEntryDigest(sha256Digest('a'), 'b'), 'KILN_CACHE_BAD_OPTIONS');
});

const entries = suite('entryResult and entryDigestsOf');
const tree = digestOfBytes(Buffer.from('tree'));
const log = digestOfBytes(Buffer.from('log'));
const signature = digestOfBytes(Buffer.from('sig'));

entries('read back what was written, with or without a signature', () => {
  assert.equal(entryDigestsOf(decoded(entryResult({ tree, log, signature }))), { tree, log, signature });
  assert.equal(entryDigestsOf(decoded(entryResult({ tree, log }))), { tree, log });
});

entries('refuse results kiln never writes', () => {
  const good = decoded(entryResult({ tree, log }));
  throwsWithCode(() => entryDigestsOf({ ...good, exitCode: 1 }), 'KILN_CACHE_BAD_ENTRY');
  throwsWithCode(() => entryDigestsOf({ ...good, outputDirectories: [] }), 'KILN_CACHE_BAD_ENTRY');
  throwsWithCode(() => entryDigestsOf({ ...good, outputDirectories: [...good.outputDirectories, ...good.outputDirectories] }), 'KILN_CACHE_BAD_ENTRY');
  throwsWithCode(() => entryDigestsOf({ ...good, stdoutDigest: null }), 'KILN_CACHE_BAD_ENTRY');
  throwsWithCode(() => entryDigestsOf({ ...good, outputDirectories: [{ ...good.outputDirectories[0]!, treeDigest: { hash: 'zz', sizeBytes: 1 } }] }), 'KILN_CACHE_BAD_ENTRY');
});

const index = suite('blob size hints');

index('give the size of the blob they name, and nothing for another', () => {
  const blob = digestOfBytes(Buffer.from('a pinned tarball'));
  const result = decoded(blobIndexResult(blob));
  assert.is(sizeFromBlobIndex(result, blob.hash), blob.sizeBytes);
  assert.is(sizeFromBlobIndex(result, 'f'.repeat(64)), undefined);
  assert.is.not(blobIndexDigest(blob.hash).digest.hash, blob.hash);
});

const trees = suite('treeForCache');

trees('a kiln tree and its REAPI form read back as the same tree', async () => {
  const store = createMemoryStore();
  const a = await store.putBytes('#!/bin/sh\necho hi\n');
  const b = await store.putBytes('');
  const manifests: TreeManifest[] = [
    { kiln: 'tree/v1', entries: [] },
    {
      kiln: 'tree/v1',
      entries: [
        { path: 'bin', type: 'dir' },
        { path: 'bin/hi', type: 'file', mode: 0o755, digest: a.digest, size: a.size },
        { path: 'bin/sh', type: 'symlink', target: 'hi' },
        { path: 'empty', type: 'dir' },
        { path: 'etc', type: 'dir' },
        { path: 'etc/a', type: 'file', mode: 0o644, digest: b.digest, size: 0 },
        { path: 'etc/b', type: 'file', mode: 0o644, digest: a.digest, size: a.size },
        { path: 'z', type: 'symlink', target: '/abs/olute' },
      ],
    },
  ];
  for (const manifest of manifests) {
    const digest = await store.putTree(manifest);
    const { sources, tree: message } = treeForCache(manifest, digest, store);
    assert.ok(message.bytes.length > 0);
    // Every distinct file once, every Directory once.
    const files = new Set(manifest.entries.flatMap((e) => (e.type === 'file' ? [e.digest] : [])));
    assert.ok(sources.length >= files.size);
  }
});

trees('refuses to share a tree under a digest it does not have', async () => {
  const store = createMemoryStore();
  throwsWithCode(() => treeForCache({ kiln: 'tree/v1', entries: [] }, sha256Digest('another tree'), store), 'KILN_CACHE_MISMATCH');
});

keys.run();
entries.run();
index.run();
trees.run();
