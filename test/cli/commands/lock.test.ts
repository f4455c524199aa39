import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CliIO } from '../../../src/cli/io.js';
import { runCommand } from '../../../src/cli/main.js';
import { loadBuildRecipe } from '../../../src/lock/index.js';
import { makeTempDir, rejectsWithCode, repoRoot } from '../../helpers/index.js';
import { writeRecipe } from '../../helpers/recipes.js';

const run = promisify(execFile);
const KILN = join(repoRoot(), 'bin', 'kiln.js');

async function kiln(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [KILN, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const lock = suite('kiln lock, then kiln build --locked');

lock('an unpinned recipe does not build; kiln lock pins it; --locked builds; an edited input makes --locked fail', async () => {
  const { dir, cleanup } = await makeTempDir();
  const server = createServer((req, res) => res.end(`data of ${req.url}\n`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    const body = (file: string) => `
inputs:
  data: { url: "http://127.0.0.1:${port}/${file}" }
steps:
  s: { image: base, inputs: [data], run: "cp /kiln/inputs/data $KILN_OUT/data" }
artifacts: [{ from: s, path: data }]
`;
    await writeRecipe(dir, body('one.txt'));
    const env = { KILN_STORE: join(dir, 'store') };
    const unpinned = await kiln(['build', dir, '--out', join(dir, 'out')], env);
    assert.is(unpinned.code, 2, unpinned.stderr);
    assert.match(unpinned.stderr, /kiln lock/);

    const locked = await kiln(['lock', dir], env);
    assert.is(locked.code, 0, locked.stderr);
    const lockText = await readFile(join(dir, 'kiln.lock'), 'utf8');
    assert.match(lockText, /sha256-/);

    const built = await kiln(['build', dir, '--locked', '--out', join(dir, 'out'), '--json'], env);
    assert.is(built.code, 0, built.stderr);
    assert.is(await readFile(join(dir, 'out', 'data'), 'utf8'), 'data of /one.txt\n');
    // the lock travels in the provenance, so a rebuilder can pin the same inputs
    assert.match(await readFile(join(dir, 'out', 'test.statement.json'), 'utf8'), /kiln\.lock/);

    // a rebuilder reproduces it from the provenance alone: the embedded lock pins the url input
    const key = join(repoRoot(), 'examples', 'keys', 'example.key');
    const signed = await kiln(['build', dir, '--locked', '--out', join(dir, 'signed'), '--sign-key', key], env);
    assert.is(signed.code, 0, signed.stderr);
    const pub = join(repoRoot(), 'examples', 'keys', 'example.pub');
    const rebuilt = await kiln(['rebuild', join(dir, 'signed', 'test.intoto.jsonl'), '--key', pub, '--input', `rootfs=${join(dir, 'rootfs.tar')}`, '--out', join(dir, 'rebuilt')], { KILN_STORE: join(dir, 'store2') });
    assert.is(rebuilt.code, 0, rebuilt.stdout + rebuilt.stderr);
    assert.match(rebuilt.stdout, /PASSED/);

    await writeRecipe(dir, body('two.txt'));
    const stale = await kiln(['build', dir, '--locked', '--out', join(dir, 'out')], env);
    assert.is(stale.code, 2, stale.stderr);
    assert.match(stale.stderr, /kiln\.lock/);
    assert.match(stale.stderr, /data/);
  } finally {
    server.close();
    await cleanup();
  }
});

lock.run();

const runLockCommand = (args: string[], io: CliIO) => runCommand(['lock', ...args], io);

const UNPINNED = `kiln: 1
name: t
sourceDateEpoch: 0
inputs:
  notes: { path: notes.txt }
images:
  base: { oci: "busybox@sha256:${'a'.repeat(64)}" }
steps:
  build: { image: base, run: make }
artifacts:
  - { from: build, path: out }
`;

const inProcess = suite('kiln lock, in this process');

inProcess('writes the lock and reports what changed; a second recipe is a usage error', async () => {
  const { dir, cleanup } = await makeTempDir();
  const store = process.env.KILN_STORE;
  process.env.KILN_STORE = join(dir, 'store');
  try {
    await writeFile(join(dir, 'notes.txt'), 'n\n');
    await writeFile(join(dir, 'kiln.yaml'), UNPINNED);
    let out = '';
    const io = { stdout: { write: (t: string) => void (out += t) }, stderr: { write: () => {} } };
    assert.is(await runLockCommand([dir], io), 0);
    assert.match(out, /changed input:notes/);
    assert.ok((await loadBuildRecipe(dir, { locked: true })).inputs.notes?.integrity.startsWith('sha256-'));
    await rejectsWithCode(() => runLockCommand([dir, 'extra'], io), 'KILN_USAGE');
  } finally {
    if (store === undefined) delete process.env.KILN_STORE;
    else process.env.KILN_STORE = store;
    await cleanup();
  }
});

inProcess.run();
