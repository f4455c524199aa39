import { spawn } from 'node:child_process';
import { readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createStore } from '../../src/store/index.js';
import { makeTempDir } from '../helpers/index.js';
import { listBlobs, listTemps } from './support.js';

// Children import the store the same way this test did (through tsx from src, or compiled from dist).
const STORE_MODULE = new URL('../../src/store/index.js', import.meta.url).href;

const CHILD = `
import { Readable } from 'node:stream';
const { createStore } = await import(process.env.KILN_STORE_MODULE);
const [root, mode] = process.argv.slice(2);
const store = await createStore({ root });
let i = 0;
const source = mode === 'big'
  // 32 MiB of deterministic bytes, in 256 KiB chunks
  ? new Readable({ read() { this.push(i === 128 ? null : Buffer.alloc(256 * 1024, i++ % 251)); } })
  // an endless trickle: the parent kills this process mid-write
  : new Readable({ read() { setTimeout(() => this.push(Buffer.alloc(64 * 1024, 1)), 5); } });
const result = await store.putStream(source);
process.stdout.write(JSON.stringify(result));
`;

interface Child {
  pid: number;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function runChild(script: string, root: string, mode: string): Child {
  const child = spawn(process.execPath, [...process.execArgv, script, root, mode], {
    env: { ...process.env, KILN_STORE_MODULE: STORE_MODULE },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { pid: child.pid!, done };
}

const PutStreamAcrossProcesses = suite('putStream across processes');

PutStreamAcrossProcesses('two processes writing the same big stream into one store both succeed', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const script = join(dir, 'child.mjs');
    await writeFile(script, CHILD);
    const root = join(dir, 'store');
    const a = runChild(script, root, 'big');
    const b = runChild(script, root, 'big');
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.is(ra.code, 0, ra.stderr);
    assert.is(rb.code, 0, rb.stderr);
    const da = JSON.parse(ra.stdout);
    const db = JSON.parse(rb.stdout);
    assert.is(da.digest, db.digest);
    assert.is(da.size, 32 << 20);
    assert.is((await listBlobs(root)).length, 1);
    assert.equal(await listTemps(root), []);
    const store = await createStore({ root });
    assert.is((await store.readBlob(da.digest)).length, 32 << 20);
  } finally {
    await cleanup();
  }
});

PutStreamAcrossProcesses('a writer killed mid-write leaves no object, and gc removes its old temp file', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const script = join(dir, 'child.mjs');
    await writeFile(script, CHILD);
    const root = join(dir, 'store');
    const child = runChild(script, root, 'slow');
    const tmp = join(root, 'v1', 'tmp');
    // Wait until the temp file holds some bytes, then kill without any chance to clean up.
    const deadline = Date.now() + 10_000;
    let temp: string | undefined;
    while (Date.now() < deadline) {
      const names = await readdir(tmp).catch(() => []);
      if (names.length === 1 && (await stat(join(tmp, names[0]!))).size > 0) {
        temp = join(tmp, names[0]!);
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(temp, 'the child started writing');
    process.kill(child.pid, 'SIGKILL');
    const result = await child.done;
    assert.is(result.signal, 'SIGKILL');

    assert.equal(await listBlobs(root), [], 'no visible object');
    assert.is((await listTemps(root)).length, 1, 'the partial temp file is left');
    const store = await createStore({ root });
    assert.is((await store.maintenance.gc()).removedTempFiles, 0, 'a young temp file is kept: its writer may be alive');
    const old = new Date(Date.now() - 2 * 3600_000);
    await utimes(temp!, old, old);
    assert.is((await store.maintenance.gc()).removedTempFiles, 1);
    assert.equal(await listTemps(root), []);
  } finally {
    await cleanup();
  }
});

PutStreamAcrossProcesses.run();
