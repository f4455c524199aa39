import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createStore, blobPathFor } from '../../../src/store/index.js';
import { makeTempDir, repoRoot } from '../../helpers/index.js';

const run = promisify(execFile);
const KILN = join(repoRoot(), 'bin', 'kiln.js');

async function kiln(args: string[], store: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [KILN, ...args], { env: { ...process.env, KILN_STORE: store } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const cache = suite('kiln cache');

cache('stats counts what the store holds', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    await store.putBytes('one');
    await store.putBytes('two');
    const r = await kiln(['cache', 'stats', '--json'], dir);
    assert.is(r.code, 0, r.stderr);
    const stats = JSON.parse(r.stdout);
    assert.is(stats.blobs, 2);
    assert.is(stats.blobBytes, 6);
  } finally {
    await cleanup();
  }
});

cache('verify finds a corrupted object, removes it and exits 1; a clean store exits 0', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const good = await store.putBytes('good');
    const bad = await store.putBytes('will rot');
    const path = blobPathFor(store.root, bad.digest);
    await chmod(path, 0o644);
    await writeFile(path, 'rotten');
    const r = await kiln(['cache', 'verify', '--json'], dir);
    assert.is(r.code, 1, r.stderr);
    assert.equal(JSON.parse(r.stdout).corrupt, [bad.digest]);
    assert.not.ok(await store.has(bad.digest));
    assert.ok(await store.has(good.digest));
    const again = await kiln(['cache', 'verify'], dir);
    assert.is(again.code, 0, again.stderr);
  } finally {
    await cleanup();
  }
});

cache('gc with a dry run removes nothing', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const blob = await store.putBytes('young and unreferenced');
    const r = await kiln(['cache', 'gc', '--max-age', '0', '--dry-run', '--json'], dir);
    assert.is(r.code, 0, r.stderr);
    assert.ok(await store.has(blob.digest));
  } finally {
    await cleanup();
  }
});

cache('an unknown subcommand is a usage error', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const r = await kiln(['cache', 'shrink'], dir);
    assert.is(r.code, 2);
    assert.match(r.stderr, /shrink/);
  } finally {
    await cleanup();
  }
});

cache.run();
