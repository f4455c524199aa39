import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createStore, type TreeManifest } from '../../src/store/index.js';
import { canonicalJSON, sha256Digest } from '../../src/util/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { listBlobs } from './support.js';

const PutTree = suite('putTree');

PutTree('stores the canonical JSON of a valid manifest as a blob', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const a = await store.putBytes('#!/bin/sh\n');
    const manifest: TreeManifest = {
      kiln: 'tree/v1',
      entries: [
        { path: 'bin', type: 'dir' },
        { path: 'bin/run', type: 'file', mode: 0o755, digest: a.digest, size: a.size },
        { path: 'bin/sh', type: 'symlink', target: 'run' },
      ],
    };
    const digest = await store.putTree(manifest);
    assert.is(digest, sha256Digest(canonicalJSON(manifest)));
    assert.equal(await store.readTree(digest), manifest);
  } finally {
    await cleanup();
  }
});

PutTree('rejects an unsorted manifest and stores nothing', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const a = await store.putBytes('a');
    const before = await listBlobs(dir);
    const f = (path: string) => ({ path, type: 'file' as const, mode: 0o644 as const, digest: a.digest, size: 1 });
    await rejectsWithCode(() => store.putTree({ kiln: 'tree/v1', entries: [f('z'), f('a')] }), 'KILN_STORE_BAD_TREE');
    assert.equal(await listBlobs(dir), before);
  } finally {
    await cleanup();
  }
});

PutTree('rejects a manifest with a missing parent folder', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const a = await store.putBytes('a');
    await rejectsWithCode(
      () => store.putTree({ kiln: 'tree/v1', entries: [{ path: 'x/a', type: 'file', mode: 0o644, digest: a.digest, size: 1 }] }),
      'KILN_STORE_BAD_TREE',
    );
  } finally {
    await cleanup();
  }
});

PutTree('rejects a manifest listing a blob the store lacks, or with the wrong size', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const a = await store.putBytes('a');
    await rejectsWithCode(
      () => store.putTree({ kiln: 'tree/v1', entries: [{ path: 'a', type: 'file', mode: 0o644, digest: sha256Digest('b'), size: 1 }] }),
      'KILN_STORE_MISSING',
    );
    await rejectsWithCode(
      () => store.putTree({ kiln: 'tree/v1', entries: [{ path: 'a', type: 'file', mode: 0o644, digest: a.digest, size: 2 }] }),
      'KILN_STORE_BAD_TREE',
    );
    assert.is((await listBlobs(dir)).length, 1);
  } finally {
    await cleanup();
  }
});

const ReadTree = suite('readTree');

ReadTree('rejects a blob that is not a manifest', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const { digest } = await store.putBytes('{"entries":[{"path":"../x","type":"dir"}],"kiln":"tree/v1"}');
    await rejectsWithCode(() => store.readTree(digest), 'KILN_STORE_BAD_TREE');
    await rejectsWithCode(() => store.readTree(sha256Digest('none')), 'KILN_STORE_MISSING');
  } finally {
    await cleanup();
  }
});

PutTree.run();
ReadTree.run();
