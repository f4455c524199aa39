import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeTempDir, repoRoot } from '../../helpers/index.js';
import { ensureCluster } from '../../reapi/cluster.js';

// `kiln build` with a shared cache, as two machines would run it, against the real Buildbarn
// (scripts/buildbarn.sh, started if down): CI builds examples/hello with --remote-cache and signs
// the entries; a second machine with a fresh store and only $KILN_REMOTE_CACHE and --cache-trust
// runs no step and gets the same bytes.

const KILN = join(repoRoot(), 'bin', 'kiln.js');
const cluster = ensureCluster();

interface Run { code: number | null; stdout: string; stderr: string }

function kiln(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [KILN, ...args], {
      env: { ...process.env, KILN_REMOTE_CACHE: '', KILN_CACHE_TRUST: '', KILN_CACHE_SIGN_KEY: '', KILN_SIGN_KEY: '', KILN_MIRRORS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface StepJson { cached: boolean; outputTree: string; origin?: { kind: string; endpoint: string; admittedBy: string; keyid?: string } }
interface BuildJson { artifacts: Array<{ name: string; digests: { sha256: string } }>; steps: Record<string, StepJson> }

const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as BuildJson;

const cli = suite('kiln build --remote-cache');

cli('a second machine (fresh store, $KILN_REMOTE_CACHE, --cache-trust) runs no step of examples/hello and writes the same bytes', async () => {
  const { dir, cleanup } = await makeTempDir('kiln-rc-cli-');
  try {
    const recipe = join(repoRoot(), 'examples', 'hello');
    const keygen = await kiln(['keygen', '--out', join(dir, 'ci'), '--json'], {});
    assert.is(keygen.code, 0, keygen.stderr);
    const keyid = (JSON.parse(keygen.stdout) as { keyid: string }).keyid;

    const ci = await kiln(['build', recipe, '--out', join(dir, 'out-ci'), '--remote-cache', cluster.endpoint, '--cache-sign-key', join(dir, 'ci.key')], { KILN_STORE: join(dir, 'store-ci') });
    assert.is(ci.code, 0, ci.stderr);
    const a = await readJson(join(dir, 'out-ci', 'build.json'));

    const laptop = await kiln(['build', recipe, '--out', join(dir, 'out-b'), '--cache-trust', join(dir, 'ci.pub'), '--no-cache-upload'], {
      KILN_STORE: join(dir, 'store-b'),
      KILN_REMOTE_CACHE: cluster.endpoint,
    });
    assert.is(laptop.code, 0, laptop.stderr);
    const b = await readJson(join(dir, 'out-b', 'build.json'));
    const steps = Object.keys(a.steps);
    assert.ok(steps.length >= 3);
    assert.match(laptop.stdout, `${steps.length} steps (${steps.length} cached, ${steps.length} from the remote cache)`);
    assert.not.match(laptop.stderr, /running|warning/);
    for (const step of steps) {
      assert.is(b.steps[step]!.outputTree, a.steps[step]!.outputTree, step);
      assert.equal(b.steps[step]!.origin, { kind: 'remote-cache', endpoint: cluster.endpoint, instance: '', admittedBy: 'signature', keyid }, step);
    }
    assert.equal(b.artifacts, a.artifacts);
    for (const artifact of a.artifacts) {
      const one = await readFile(join(dir, 'out-ci', artifact.name));
      const two = await readFile(join(dir, 'out-b', artifact.name));
      assert.ok(one.equals(two), `${artifact.name} differs`);
    }
    const provenance = await readFile(join(dir, 'out-b', 'hello.statement.json'), 'utf8');
    assert.ok(provenance.includes(keyid), 'the provenance names the key that admitted the entries');
  } finally {
    await cleanup();
  }
});

cli.run();
