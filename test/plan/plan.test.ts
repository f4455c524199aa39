import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { planBuild } from '../../src/plan/index.js';
import { parseRecipe } from '../../src/recipe/index.js';
import type { SandboxProfile } from '../../src/sandbox/types.js';

const profile: SandboxProfile = {
  version: 2, hostname: 'kiln', domainname: 'kiln.invalid', network: 'none', capabilities: [], noNewPrivileges: true,
  limits: { pids: 10, memoryBytes: 1 << 30, outputBytes: 1 << 30, decompressedBytes: 1 << 30 },
  env: { TZ: 'UTC', LANG: 'C', LC_ALL: 'C', HOME: '/kiln/work', PATH: '/bin' },
  umask: '0022', workdir: '/kiln/work',
};

const recipe = () => parseRecipe(`kiln: 1
name: p
sourceDateEpoch: 1234
env: { CFLAGS: -O2, PATH: /usr/bin:/bin, SHARED: recipe }
images:
  base: { oci: "example.org/base@sha256:${'b'.repeat(64)}" }
  built: { step: toolchain }
steps:
  package: { image: base, needs: [compile], run: "tar -cf $KILN_OUT/x.tar ." }
  compile: { image: built, run: "make", env: { SHARED: step } }
  toolchain: { image: base, run: "true" }
artifacts: [{ from: package, path: x.tar }]
`, '/tmp/kiln.yaml');

const plan = suite('planBuild');

plan('orders steps so each comes after what it needs and the step its image is made from', () => {
  const p = planBuild(recipe(), profile);
  assert.equal(p.order, ['toolchain', 'compile', 'package']);
  assert.equal(p.steps.compile!.dependsOn, ['toolchain']);
  assert.equal(p.steps.package!.dependsOn, ['compile']);
});

plan('environment: profile, then recipe, then step, then kiln’s own variables', () => {
  const env = planBuild(recipe(), profile).steps.compile!.env;
  assert.is(env.TZ, 'UTC');
  assert.is(env.PATH, '/usr/bin:/bin', 'the recipe may set PATH');
  assert.is(env.CFLAGS, '-O2');
  assert.is(env.SHARED, 'step', 'a step value wins over the recipe');
  assert.is(env.SOURCE_DATE_EPOCH, '1234');
  assert.is(env.KILN_OUT, '/kiln/out');
  assert.is(env.HOME, '/kiln/work');
  assert.equal(Object.keys(env), [...Object.keys(env)].sort(), 'keys sorted: one canonical order');
});

plan('the script runs under the profile umask', () => {
  const step = planBuild(recipe(), profile).steps.package!;
  assert.is(step.script, 'umask 0022\ntar -cf $KILN_OUT/x.tar .');
});

plan.run();
