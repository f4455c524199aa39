import { chmod, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { digest, digestPath, fetchInput } from '../../src/fetch/index.js';
import { createStore } from '../../src/store/index.js';
import { canonicalJSON, sha256Digest } from '../../src/util/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { listBlobs, listTemps } from '../store/support.js';
import { pathSpec, sri } from './support.js';

async function makeFolder(dir: string): Promise<string> {
  const folder = join(dir, 'recipe', 'src');
  await mkdir(join(folder, 'bin'), { recursive: true });
  await writeFile(join(folder, 'README'), 'hello\n');
  await writeFile(join(folder, 'bin', 'tool'), '#!/bin/sh\necho hi\n');
  await chmod(join(folder, 'bin', 'tool'), 0o755);
  await symlink('bin/tool', join(folder, 'tool'));
  return folder;
}

const FetchPath = suite('fetchInput (path)');

FetchPath('stores a file relative to the recipe, keeping its exec bit in the mount', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: join(dir, 'store') });
    await mkdir(join(dir, 'recipe', 'tools'), { recursive: true });
    await writeFile(join(dir, 'recipe', 'tools', 'run.sh'), 'echo run\n');
    await chmod(join(dir, 'recipe', 'tools', 'run.sh'), 0o755);
    const got = await fetchInput(store, pathSpec('run', 'tools/run.sh', sri('echo run\n')), { recipeDir: join(dir, 'recipe') });
    assert.equal(got.mount, { kind: 'file', digest: sha256Digest('echo run\n'), size: 9, executable: true });
    assert.is(got.uri, 'file:tools/run.sh');
    assert.is(got.cached, false);
    const again = await fetchInput(store, pathSpec('run', 'tools/run.sh', sri('echo run\n')), { recipeDir: join(dir, 'recipe') });
    assert.is(again.cached, true);
    assert.equal(again.mount, got.mount);
  } finally {
    await cleanup();
  }
});

FetchPath('a changed file fails integrity and leaves no object', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: join(dir, 'store') });
    await writeFile(join(dir, 'f'), 'changed');
    await rejectsWithCode(() => fetchInput(store, pathSpec('f', 'f', sri('original')), { recipeDir: dir }), 'KILN_FETCH_INTEGRITY');
    assert.equal(await listBlobs(store.root), []);
    assert.equal(await listTemps(store.root), []);
  } finally {
    await cleanup();
  }
});

FetchPath('a missing path fails with KILN_FETCH_NOT_FOUND', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: join(dir, 'store') });
    const err = await rejectsWithCode<{ input: string }>(() => fetchInput(store, pathSpec('gone', 'nope.tar', sri('x')), { recipeDir: dir }), 'KILN_FETCH_NOT_FOUND');
    assert.is(err.input, 'gone');
  } finally {
    await cleanup();
  }
});

FetchPath('ingests a folder as a tree pinned by its manifest', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: join(dir, 'store') });
    await makeFolder(dir);
    const pin = await digestPath(store, join(dir, 'recipe', 'src'));
    // A fresh store: the fetch must do the work itself.
    const fresh = await createStore({ root: join(dir, 'store2') });
    const got = await fetchInput(fresh, pathSpec('src', 'src', pin.integrity), { recipeDir: join(dir, 'recipe') });
    assert.equal(got.mount, { kind: 'tree', tree: pin.digest });
    assert.is(got.digest, pin.digest);
    const manifest = await fresh.readTree(pin.digest);
    assert.equal(
      manifest.entries.map((e) => [e.path, e.type]),
      [['README', 'file'], ['bin', 'dir'], ['bin/tool', 'file'], ['tool', 'symlink']],
    );
    assert.is(got.size, Buffer.byteLength(canonicalJSON(manifest)));
    const again = await fetchInput(fresh, pathSpec('src', 'src', pin.integrity), { recipeDir: join(dir, 'recipe') });
    assert.is(again.cached, true);
    assert.equal(again.mount, got.mount);
  } finally {
    await cleanup();
  }
});

FetchPath('a changed folder fails integrity and records no ref', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: join(dir, 'store') });
    const folder = await makeFolder(dir);
    const pin = await digestPath(store, folder);
    await writeFile(join(folder, 'README'), 'tampered\n');
    const fresh = await createStore({ root: join(dir, 'store2') });
    await rejectsWithCode(() => fetchInput(fresh, pathSpec('src', 'src', pin.integrity), { recipeDir: join(dir, 'recipe') }), 'KILN_FETCH_INTEGRITY');
    assert.is(await fresh.getRef('integrity', pin.integrity), undefined);
    assert.is((await fresh.maintenance.stats()).refs, 0);
  } finally {
    await cleanup();
  }
});

FetchPath('a cached folder is recognised even after the folder is gone', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: join(dir, 'store') });
    const folder = await makeFolder(dir);
    const pin = await digestPath(store, folder);
    await rm(folder, { recursive: true });
    const got = await fetchInput(store, pathSpec('src', 'src', pin.integrity), { recipeDir: join(dir, 'recipe') });
    assert.is(got.cached, true);
    assert.equal(got.mount, { kind: 'tree', tree: pin.digest });
  } finally {
    await cleanup();
  }
});

FetchPath('refuses unpack on a folder', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: join(dir, 'store') });
    await makeFolder(dir);
    await rejectsWithCode(() => fetchInput(store, pathSpec('src', 'src', sri('x'), true), { recipeDir: join(dir, 'recipe') }), 'KILN_FETCH_UNSUPPORTED');
  } finally {
    await cleanup();
  }
});

const DigestPath = suite('digestPath');

DigestPath('pins a file by its sha256 SRI', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: join(dir, 'store') });
    await writeFile(join(dir, 'f'), 'data');
    const pin = await digestPath(store, join(dir, 'f'));
    assert.equal(pin, { path: join(dir, 'f'), kind: 'file', digest: sha256Digest('data'), size: 4, integrity: sri('data') });
    await rejectsWithCode(() => digestPath(store, join(dir, 'none')), 'KILN_FETCH_NOT_FOUND');
  } finally {
    await cleanup();
  }
});

DigestPath('digest: the same pin, through the store it is given, else the user\'s ($KILN_STORE)', async () => {
  const { dir, cleanup } = await makeTempDir();
  const previous = process.env.KILN_STORE;
  try {
    await writeFile(join(dir, 'f'), 'data');
    const given = await createStore({ root: join(dir, 'given') });
    assert.is((await digest(join(dir, 'f'), { store: given })).integrity, sri('data'));
    assert.is((await listBlobs(join(dir, 'given'))).length, 1);
    process.env.KILN_STORE = join(dir, 'default');
    assert.is((await digest(join(dir, 'f'))).integrity, sri('data'));
    assert.is((await listBlobs(join(dir, 'default'))).length, 1);
  } finally {
    if (previous === undefined) delete process.env.KILN_STORE;
    else process.env.KILN_STORE = previous;
    await cleanup();
  }
});

FetchPath.run();
DigestPath.run();
