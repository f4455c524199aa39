import { rm, stat, utimes } from 'node:fs/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { actionPathFor, createStore, refPathFor, blobPathFor } from '../../src/store/index.js';
import { sha256Digest } from '../../src/util/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { storeAction } from './fixtures.js';
import { listTemps } from './support.js';

const key = sha256Digest('action key');

const PutAction = suite('putAction');

PutAction('round-trips a record and leaves no temp file', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const { record } = await storeAction(store);
    await store.putAction(key, record);
    assert.equal(await store.getAction(key), record);
    assert.equal(await listTemps(dir), []);
  } finally {
    await cleanup();
  }
});

PutAction('rejects a malformed record', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const { record } = await storeAction(store);
    await rejectsWithCode(() => store.putAction(key, { ...record, outputTree: 'sha256:zz' as never }), 'KILN_STORE_BAD_RECORD');
  } finally {
    await cleanup();
  }
});

const GetAction = suite('getAction');

GetAction('is undefined when absent', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    assert.is(await store.getAction(key), undefined);
  } finally {
    await cleanup();
  }
});

GetAction('is undefined when the record points at a missing blob of its tree', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const { record, file } = await storeAction(store);
    await store.putAction(key, record);
    await rm(blobPathFor(store.root, file));
    assert.is(await store.getAction(key), undefined);
  } finally {
    await cleanup();
  }
});

GetAction('is undefined when the log is missing', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const { record, log } = await storeAction(store);
    await store.putAction(key, record);
    await rm(blobPathFor(store.root, log));
    assert.is(await store.getAction(key), undefined);
  } finally {
    await cleanup();
  }
});

GetAction('touches the record on a hit, for gc', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const { record } = await storeAction(store);
    await store.putAction(key, record);
    const old = new Date(Date.now() - 10 * 86400_000);
    await utimes(actionPathFor(dir, key), old, old);
    await store.getAction(key);
    assert.ok((await stat(actionPathFor(dir, key))).mtimeMs > Date.now() - 60_000);
  } finally {
    await cleanup();
  }
});

const SetRef = suite('setRef');

SetRef('round-trips a name with / and + through getRef', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const { digest } = await store.putBytes('x');
    const name = 'sha512-ab/c+d==';
    await store.setRef('integrity', name, digest);
    assert.is(await store.getRef('integrity', name), digest);
    assert.is(await store.getRef('integrity', 'sha512-other'), undefined);
    assert.is(await store.getRef('unpacked', name), undefined);
    assert.equal(await listTemps(dir), []);
  } finally {
    await cleanup();
  }
});

const GetRef = suite('getRef');

GetRef('is undefined when the target blob is gone', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const { digest } = await store.putBytes('x');
    await store.setRef('integrity', 'n', digest);
    await rm(blobPathFor(store.root, digest));
    assert.is(await store.getRef('integrity', 'n'), undefined);
    // The ref file itself is left for verify/gc to remove.
    assert.ok(await stat(refPathFor(dir, 'integrity', 'n')).then(() => true));
  } finally {
    await cleanup();
  }
});

PutAction.run();
GetAction.run();
SetRef.run();
GetRef.run();
