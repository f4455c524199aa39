import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { debPurl, fetchInput } from '../../src/fetch/index.js';
import { createStore } from '../../src/store/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { listBlobs } from '../store/support.js';
import { debSpec } from './support.js';

const PKG = 'busybox-static';
const VERSION = '1:1.35.0-4+deb12u1+b1';
const INTEGRITY = 'sha256-PT/b6R1GYMhz4UsJLCE/6BwdpjYtqiNusl0BcesQh0Q=';

const aptTemps = async () => (await readdir(tmpdir())).filter((n) => n.startsWith('kiln-apt-')).sort();

/**
 * Runs `body` with a temp folder of its own as TMPDIR: other processes sharing /tmp (parallel
 * test runs, other apt fetches) cannot make "nothing was left behind" fail or pass by chance.
 */
async function withPrivateTmp(body: () => Promise<void>): Promise<void> {
  const { dir, cleanup } = await makeTempDir('kiln-deb-tmp-');
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    await body();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    await cleanup();
  }
}

const DebPurl = suite('debPurl');

DebPurl('percent-encodes the epoch colon and plus signs of the version', () => {
  assert.is(debPurl(PKG, VERSION, 'amd64'), 'pkg:deb/debian/busybox-static@1%3A1.35.0-4%2Bdeb12u1%2Bb1?arch=amd64');
});

const FetchDeb = suite('fetchInput (deb)');

FetchDeb('downloads a pinned package through apt-get and verifies it', () => withPrivateTmp(async () => {
  const { dir, cleanup } = await makeTempDir();
  const before = await aptTemps();
  try {
    const store = await createStore({ root: dir });
    const got = await fetchInput(store, debSpec('busybox', PKG, VERSION, INTEGRITY), { recipeDir: dir });
    assert.is(got.digest, `sha256:${Buffer.from(INTEGRITY.slice(7), 'base64').toString('hex')}`);
    assert.is(got.uri, debPurl(PKG, VERSION, 'amd64'));
    assert.is(got.mount.kind, 'file');
    assert.ok(got.size > 100_000);
    assert.equal(await aptTemps(), before, 'the apt temp folder is removed');
    const again = await fetchInput(store, debSpec('busybox', PKG, VERSION, INTEGRITY), { recipeDir: dir });
    assert.is(again.cached, true);
  } finally {
    await cleanup();
  }
}));

FetchDeb('a version apt does not know fails with KILN_FETCH_APT and a hint', () => withPrivateTmp(async () => {
  const { dir, cleanup } = await makeTempDir();
  const before = await aptTemps();
  try {
    const store = await createStore({ root: dir });
    const err = await rejectsWithCode<{ hint: string; found: string; input: string }>(
      () => fetchInput(store, debSpec('busybox', PKG, '1:0.0.1-1', INTEGRITY), { recipeDir: dir }),
      'KILN_FETCH_APT',
    );
    assert.ok(err.hint.includes('apt-get update'));
    assert.ok(err.found.length > 0, 'carries apt-get\'s stderr');
    assert.is(err.input, 'busybox');
    assert.equal(await listBlobs(dir), []);
    assert.equal(await aptTemps(), before);
  } finally {
    await cleanup();
  }
}));

FetchDeb('refuses a package name apt-get could read as an option', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    await rejectsWithCode(() => fetchInput(store, debSpec('x', '-oDebug=1', '1', INTEGRITY), { recipeDir: dir }), 'KILN_FETCH_UNSUPPORTED');
  } finally {
    await cleanup();
  }
});

DebPurl.run();
FetchDeb.run();
