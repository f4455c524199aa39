import { chmod, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { actionPathFor, createStore, refPathFor, type LocalStore, type TreeManifest, blobPathFor } from '../../src/store/index.js';
import { sha256Digest, type Digest } from '../../src/util/index.js';
import { makeTempDir } from '../helpers/index.js';
import { storeAction } from './fixtures.js';
import { listBlobs } from './support.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

async function age(path: string, ms: number): Promise<void> {
  const t = new Date(Date.now() - ms);
  await utimes(path, t, t);
}

async function ageAllBlobs(store: LocalStore, ms: number): Promise<void> {
  for (const rel of await listBlobs(store.root)) await age(join(store.root, 'v1', 'cas', rel), ms);
}

const Stats = suite('stats');

Stats('counts blobs, bytes, trees, actions, refs and temp files', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const { record } = await storeAction(store, 'abc');
    await store.putAction(sha256Digest('k'), record);
    await store.setRef('integrity', 'n', record.log);
    await writeFile(join(dir, 'v1', 'tmp', 'stray'), 'x');
    const stats = await store.maintenance.stats();
    assert.is(stats.root, dir);
    assert.is(stats.blobs, 3);
    assert.is(stats.trees, 1);
    assert.is(stats.actions, 1);
    assert.is(stats.refs, 1);
    assert.is(stats.tempFiles, 1);
    assert.ok(stats.blobBytes > 'abc'.length);
  } finally {
    await cleanup();
  }
});

const Verify = suite('verify');

Verify('detects and removes a corrupted blob, then the records that needed it', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const { record, file } = await storeAction(store);
    const key = sha256Digest('k');
    await store.putAction(key, record);
    await store.setRef('integrity', 'file', file);
    const other = (await store.putBytes('untouched')).digest;
    await chmod(blobPathFor(store.root, file), 0o644);
    await writeFile(blobPathFor(store.root, file), 'garbage');

    const report = await store.maintenance.verify();
    assert.is(report.checked, 4);
    assert.equal(report.corrupt, [file]);
    assert.equal(report.dangling.sort(), [`ac/${key.slice(7)}`, 'refs/integrity/file']);
    assert.not.ok(await store.has(file));
    assert.ok(await store.has(other));
    assert.is(await store.getAction(key), undefined);
    assert.equal((await store.maintenance.stats()).actions + (await store.maintenance.stats()).refs, 0);
  } finally {
    await cleanup();
  }
});

Verify('reports nothing on a healthy store', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const { record } = await storeAction(store);
    await store.putAction(sha256Digest('k'), record);
    const report = await store.maintenance.verify();
    assert.equal(report, { checked: 3, corrupt: [], dangling: [] });
  } finally {
    await cleanup();
  }
});

const Gc = suite('gc');

Gc('keeps what recent records and refs reach, drops the unreachable and old', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const live = await storeAction(store, 'live');
    const dead = await storeAction(store, 'dead');
    const liveKey = sha256Digest('live');
    const deadKey = sha256Digest('dead');
    await store.putAction(liveKey, live.record);
    await store.putAction(deadKey, dead.record);
    // A ref may point at a tree: the tree's blobs are reachable too.
    const inTree = await store.putBytes('in a referenced tree');
    const tree: TreeManifest = { kiln: 'tree/v1', entries: [{ path: 'f', type: 'file', mode: 0o644, digest: inTree.digest, size: inTree.size }] };
    const treeDigest = await store.putTree(tree);
    await store.setRef('unpacked', sha256Digest('some archive'), treeDigest);
    const oldGarbage = (await store.putBytes('old garbage')).digest;
    await ageAllBlobs(store, 2 * HOUR);
    const youngGarbage = (await store.putBytes('young garbage')).digest;
    await age(actionPathFor(dir, deadKey), 40 * DAY);

    const report = await store.maintenance.gc();
    const kept: Digest[] = [live.file, live.tree, live.log, inTree.digest, treeDigest, youngGarbage];
    for (const d of kept) assert.ok(await store.has(d), `kept ${d}`);
    for (const d of [dead.file, dead.tree, dead.log, oldGarbage]) assert.not.ok(await store.has(d), `removed ${d}`);
    assert.is(report.removedActions, 1);
    assert.is(report.removedRefs, 0);
    assert.is(report.removedBlobs, 4);
    assert.ok(report.removedBytes > 0);
    assert.is((await listBlobs(dir)).length, kept.length);
    assert.equal(await store.getAction(liveKey), live.record);
  } finally {
    await cleanup();
  }
});

Gc('drops refs unused for longer than maxAgeMs', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const { digest } = await store.putBytes('fetched');
    await store.setRef('integrity', 'sha256-x', digest);
    await ageAllBlobs(store, 2 * HOUR);
    await age(refPathFor(dir, 'integrity', 'sha256-x'), 2 * DAY);
    const report = await store.maintenance.gc({ maxAgeMs: DAY });
    assert.is(report.removedRefs, 1);
    assert.is(report.removedBlobs, 1);
    assert.equal(await listBlobs(dir), []);
  } finally {
    await cleanup();
  }
});

Gc('a dry run reports without removing', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    await store.putBytes('garbage');
    await ageAllBlobs(store, 2 * HOUR);
    await writeFile(join(dir, 'v1', 'tmp', 'old'), 'x');
    await age(join(dir, 'v1', 'tmp', 'old'), 2 * HOUR);
    const report = await store.maintenance.gc({ dryRun: true });
    assert.is(report.removedBlobs, 1);
    assert.is(report.removedTempFiles, 1);
    assert.is((await listBlobs(dir)).length, 1);
    assert.is((await store.maintenance.stats()).tempFiles, 1);
  } finally {
    await cleanup();
  }
});

Gc('removes only temp files older than an hour', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    await writeFile(join(dir, 'v1', 'tmp', 'old'), 'x');
    await writeFile(join(dir, 'v1', 'tmp', 'young'), 'x');
    await age(join(dir, 'v1', 'tmp', 'old'), 2 * HOUR);
    const report = await store.maintenance.gc();
    assert.is(report.removedTempFiles, 1);
    assert.is((await store.maintenance.stats()).tempFiles, 1);
  } finally {
    await cleanup();
  }
});

Stats.run();
Verify.run();
Gc.run();
