import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createStore } from '../../../src/store/index.js';
import { sha256Digest } from '../../../src/util/digest.js';
import { makeTempDir, repoRoot } from '../../helpers/index.js';
import { sri, writeRecipe } from '../../helpers/recipes.js';

const KILN = join(repoRoot(), 'bin', 'kiln.js');

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function kiln(args: string[], options: { cwd?: string; env?: Record<string, string>; onSpawn?: (kill: () => void) => void } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [KILN, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    options.onSpawn?.(() => child.kill('SIGKILL'));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const bad = suite('kiln build: bad recipes exit 2 with file:line:column');

const cases: Array<[string, string, RegExp]> = [
  ['a YAML syntax error', 'kiln: 1\nname: x\nsteps: [oops\n', /kiln\.yaml:\d+:\d+/],
  ['an unknown key', 'kiln: 1\nname: x\nsourceDateEpoch: 0\nstepz: {}\nsteps:\n  a: { image: i, run: "true" }\nartifacts: [{ from: a, path: x }]\n', /kiln\.yaml:4:1/],
  ['a missing integrity', 'kiln: 1\nname: x\nsourceDateEpoch: 0\ninputs:\n  src: { url: "http://example.org/x.tar" }\nimages:\n  i: { oci: "example.org/i@sha256:' + 'a'.repeat(64) + '" }\nsteps:\n  a: { image: i, inputs: [src], run: "true" }\nartifacts: [{ from: a, path: x }]\n', /kiln\.yaml:5:\d+/],
  ['a needs cycle', 'kiln: 1\nname: x\nsourceDateEpoch: 0\nimages:\n  i: { oci: "example.org/i@sha256:' + 'a'.repeat(64) + '" }\nsteps:\n  a: { image: i, needs: [b], run: "true" }\n  b: { image: i, needs: [a], run: "true" }\nartifacts: [{ from: a, path: x }]\n', /kiln\.yaml:\d+:\d+.*a -> b -> a|kiln\.yaml:\d+:\d+.*b -> a -> b/],
  ['an unknown image', 'kiln: 1\nname: x\nsourceDateEpoch: 0\nsteps:\n  a: { image: gcc, run: "true" }\nartifacts: [{ from: a, path: x }]\n', /kiln\.yaml:5:\d+.*gcc/],
];

for (const [what, text, where] of cases) {
  bad(`${what}`, async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      await writeFile(join(dir, 'kiln.yaml'), text);
      const run = await kiln(['build', dir, '--out', join(dir, 'out')], { env: { KILN_STORE: join(dir, 'store') } });
      assert.is(run.code, 2, run.stderr);
      assert.match(run.stderr, where);
      assert.is(run.stdout, '');
      assert.not.ok(await readdir(join(dir, 'out')).catch(() => undefined), 'no output folder');
    } finally {
      await cleanup();
    }
  });
}

bad('an unknown flag is a usage error', async () => {
  const run = await kiln(['build', '--frobnicate']);
  assert.is(run.code, 2);
  assert.match(run.stderr, /frobnicate/);
});

const cli = suite('kiln build: command line');

cli('--json prints the build.json document on stdout and nothing else; exit 0', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeRecipe(dir, 'steps:\n  s: { image: base, run: "echo hi; echo ok > $KILN_OUT/ok" }\nartifacts: [{ from: s, path: ok }]\n');
    const run = await kiln(['build', dir, '--out', join(dir, 'out'), '--json'], { env: { KILN_STORE: join(dir, 'store') } });
    assert.is(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc, JSON.parse(await readFile(join(dir, 'out', 'build.json'), 'utf8')));
    assert.is(doc.artifacts[0].name, 'ok');
    assert.match(run.stderr, /s \| hi/, 'the log is prefixed by the step name, on stderr');
  } finally {
    await cleanup();
  }
});

cli('a failing step exits 1 and names the step', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeRecipe(dir, 'steps:\n  broken: { image: base, run: "echo about to fail; exit 3" }\nartifacts: [{ from: broken, path: x }]\n');
    const run = await kiln(['build', dir, '--out', join(dir, 'out')], { env: { KILN_STORE: join(dir, 'store') } });
    assert.is(run.code, 1, run.stderr);
    assert.match(run.stderr, /step "broken" failed: exit code 3/);
    assert.match(run.stderr, /about to fail/);
  } finally {
    await cleanup();
  }
});

cli('two kiln processes building into one store at once both succeed, with equal artifacts', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeRecipe(dir, `
steps:
  a: { image: base, run: "seq 1 20000 > $KILN_OUT/numbers" }
  b: { image: base, needs: [a], run: "wc -l < /kiln/steps/a/numbers > $KILN_OUT/count" }
artifacts: [{ from: b, path: count }, { from: a, path: numbers }]
`);
    const env = { KILN_STORE: join(dir, 'store') };
    const [one, two] = await Promise.all([
      kiln(['build', dir, '--out', join(dir, 'out1'), '--json'], { env }),
      kiln(['build', dir, '--out', join(dir, 'out2'), '--json'], { env }),
    ]);
    assert.is(one.code, 0, one.stderr);
    assert.is(two.code, 0, two.stderr);
    assert.equal(JSON.parse(one.stdout).artifacts, JSON.parse(two.stdout).artifacts);
    const store = await createStore({ root: env.KILN_STORE });
    const report = await store.maintenance.verify();
    assert.equal(report.corrupt, []);
  } finally {
    await cleanup();
  }
});

cli('killing kiln mid-fetch leaves no partial object visible in the store', async () => {
  const { dir, cleanup } = await makeTempDir();
  const chunk = Buffer.alloc(1 << 16, 7);
  const total = 64 << 20;
  let sent = 0;
  let killing = false;
  let kill: (() => void) | undefined;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(total) });
    let mine = 0;
    let closed = false;
    res.on('close', () => (closed = true));
    const push = () => {
      // once kiln is told to die, stall like a slow server: the download can never complete
      if (closed || killing) return;
      if (mine >= total) { res.end(); return; }
      mine += chunk.length;
      sent = Math.max(sent, mine);
      res.write(chunk);
      if (mine >= 8 << 20 && kill) { killing = true; kill(); kill = undefined; return; }
      setImmediate(push);
    };
    push();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const p = (server.address() as { port: number }).port;
    await writeRecipe(dir, `
inputs:
  big: { url: "http://127.0.0.1:${p}/big.bin", integrity: "${sri(Buffer.alloc(total, 7))}" }
steps:
  s: { image: base, inputs: [big], run: "wc -c < /kiln/inputs/big > $KILN_OUT/size" }
artifacts: [{ from: s, path: size }]
`);
    const env = { KILN_STORE: join(dir, 'store') };
    const run = await kiln(['build', dir, '--out', join(dir, 'out')], { env, onSpawn: (k) => (kill = k) });
    assert.is(run.signal, 'SIGKILL');
    assert.ok(sent < total, 'killed before the download finished');
    const store = await createStore({ root: env.KILN_STORE });
    assert.not.ok(await store.has(sha256Digest(Buffer.alloc(total, 7))), 'no object for the partial download');
    // every visible object has exactly the bytes its address names
    const report = await store.maintenance.verify();
    assert.equal(report.corrupt, []);
    sent = 0;
    killing = false;
    const again = await kiln(['build', dir, '--out', join(dir, 'out')], { env });
    assert.is(again.code, 0, again.stderr);
    assert.is((await readFile(join(dir, 'out', 'size'), 'utf8')).trim(), String(total));
  } finally {
    server.close();
    await cleanup();
  }
});

bad.run();
cli.run();
