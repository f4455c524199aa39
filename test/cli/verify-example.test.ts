import { execFile } from 'node:child_process';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeTempDir, repoRoot } from '../helpers/index.js';

const run = promisify(execFile);
const root = repoRoot();
const KILN = join(root, 'bin', 'kiln.js');

async function kiln(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [KILN, ...args], { env: { ...process.env, ...env }, maxBuffer: 16 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const e2e = suite('examples/hello: build, sign, verify');

e2e('the example build’s provenance passes kiln verify with the example key and policy; a tampered artifact fails', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const env = { KILN_STORE: join(dir, 'store') };
    const out = join(dir, 'out');
    const built = await kiln(['build', join(root, 'examples', 'hello'), '--out', out, '--sign-key', join(root, 'examples', 'keys', 'example.key'), '--json'], env);
    assert.is(built.code, 0, built.stderr);
    const summary = JSON.parse(built.stdout);
    assert.is(summary.attestations.signed, true);
    const artifact = join(out, summary.artifacts[0].name);
    const verifyArgs = ['verify', artifact, '--provenance', join(out, 'hello.intoto.jsonl'), '--key', join(root, 'examples', 'keys', 'example.pub'),
      '--policy', join(root, 'examples', 'policy', 'hello.policy.yaml'), '--builder-id', 'https://kiln.example.org/builders/local/v1', '--json'];
    const ok = await kiln(verifyArgs, env);
    assert.is(ok.code, 0, ok.stdout + ok.stderr);
    const report = JSON.parse(ok.stdout);
    assert.ok(JSON.stringify(report).includes('policy:'), 'policy rules were evaluated');

    await appendFile(artifact, Buffer.from([0]));
    const bad = await kiln(verifyArgs, env);
    assert.is(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /subject/);

    // the wrong key: the signature check fails by name
    const other = await kiln(['keygen', '--out', join(dir, 'other')], env);
    assert.is(other.code, 0, other.stderr);
    await writeFile(artifact, await readFile(artifact).then((b) => b.subarray(0, b.length - 1)));
    const wrongKey = await kiln([...verifyArgs.slice(0, 5), join(dir, 'other.pub'), ...verifyArgs.slice(6)], env);
    assert.is(wrongKey.code, 1, wrongKey.stdout + wrongKey.stderr);
    assert.match(wrongKey.stdout, /signature/);
  } finally {
    await cleanup();
  }
});

e2e.run();
