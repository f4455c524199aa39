import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { clockMethodFromProbe, GATE_PROLOGUE, IMAGE_FAKETIME_PATHS, INJECTED_FAKETIME_PATH, planBuild, planStepAction } from '../../src/plan/index.js';
import { toContainerCreateOptions } from '../../src/sandbox/docker.js';
import { loadSandboxProfile } from '../../src/sandbox/index.js';
import type { Recipe } from '../../src/recipe/index.js';

// How a variation reaches the planner and the engine (check's small edits in plan/ and sandbox/).
const recipe = (env: Record<string, string> = {}) => ({
  kiln: 1, name: 't', sourceDateEpoch: 1, dir: '/', file: '/kiln.yaml', digest: 'sha256:' + '0'.repeat(64), env,
  inputs: {}, images: { base: { kind: 'oci', ref: 'x@sha256:' + '0'.repeat(64), shell: ['/bin/sh', '-c'] } },
  steps: { s: { name: 's', image: 'base', inputs: [], needs: [], env: {}, run: 'true', user: '1000:1000', normalize: true } },
  artifacts: [],
}) as unknown as Recipe;

const plan = suite('planBuild with a variation');

plan('the variation goes over the profile but under the recipe; HOME follows the moved working directory', async () => {
  const { profile } = await loadSandboxProfile();
  const step = planBuild(recipe({ LANG: 'C.UTF-8' }), profile, { env: { TZ: 'XST-13', LANG: 'fr_CH.UTF-8' }, workdir: '/build/x/work', user: '2345:2345', umask: '0002' }).steps.s!;
  assert.is(step.env.TZ, 'XST-13');
  assert.is(step.env.LANG, 'C.UTF-8');
  assert.is(step.env.HOME, '/build/x/work');
  assert.is(step.user, '2345:2345');
  assert.is(step.workdir, '/build/x/work');
  assert.ok(step.script.startsWith('umask 0002\n'));
});

plan('without a variation the plan is the one of a normal build', async () => {
  const { profile } = await loadSandboxProfile();
  const step = planBuild(recipe(), profile).steps.s!;
  assert.is(step.user, undefined);
  assert.is(step.env.HOME, '/kiln/work');
  assert.ok(step.script.startsWith('umask 0022\n'));
});

const create = suite('planStepAction and the Docker engine with a variation');

create('the planned action carries hostname, working directory, CPUs and tmpfs; the key records them; the engine applies them', async () => {
  const loaded = await loadSandboxProfile();
  const { profile } = loaded;
  const resolved = { image: { kind: 'oci' as const, ref: 'x@sha256:' + '0'.repeat(64) }, shell: ['/bin/sh', '-c'], inputs: {}, needs: {} };
  const plain = planStepAction(planBuild(recipe(), profile).steps.s!, resolved, { profile: loaded, sourceDateEpoch: 1 });
  assert.is(plain.run.hostname, 'kiln');
  assert.is(plain.run.limits.cpus, undefined);
  assert.is(plain.material.engine, undefined);
  assert.is(toContainerCreateOptions(plain.run, 'i', profile).HostConfig?.CpusetCpus, undefined);

  const variation = { plan: { workdir: '/build/x/work' }, engine: { hostname: 'h', domainname: 'd.invalid', cpusetCpus: '0' }, tmpfs: true };
  const varied = planStepAction(planBuild(recipe(), profile, variation.plan).steps.s!, resolved, { profile: loaded, sourceDateEpoch: 1, variation });
  assert.is.not(varied.actionKey, plain.actionKey);
  assert.equal(varied.material.engine, {
    hostname: 'h', domainname: 'd.invalid', cpusetCpus: '0', workdir: '/build/x/work',
    tmpfs: { '/build/x/work': 'rw,exec,uid=1000,gid=1000,mode=0755', '/tmp': 'rw,exec,mode=1777' },
  });
  assert.ok(varied.run.mounts.some((m) => m.path === '/kiln/work' && m.source.kind === 'symlink' && m.source.target === '/build/x/work'));
  const o = toContainerCreateOptions(varied.run, 'i', profile);
  assert.is(o.Hostname, 'h');
  assert.is(o.Domainname, 'd.invalid');
  assert.is(o.WorkingDir, '/build/x/work');
  assert.is(o.HostConfig?.CpusetCpus, '0');
  assert.equal(o.HostConfig?.Tmpfs, varied.material.engine!.tmpfs);
  assert.equal(o.HostConfig?.CapDrop, ['ALL']);
});

create('mounts in memory: a step with inputs gets the gate first in its script, the engine field and another key; one without inputs does not', async () => {
  const loaded = await loadSandboxProfile();
  const { profile } = loaded;
  const input = { kind: 'file' as const, digest: `sha256:${'1'.repeat(64)}` as const, size: 1, executable: false };
  const resolved = { image: { kind: 'oci' as const, ref: 'x@sha256:' + '0'.repeat(64) }, shell: ['/bin/sh', '-c'], inputs: { data: input }, needs: {} };
  const step = planBuild(recipe(), profile).steps.s!;
  const plain = planStepAction(step, resolved, { profile: loaded, sourceDateEpoch: 1 });
  const variation = { mountsInMemory: true };
  const varied = planStepAction(step, resolved, { profile: loaded, sourceDateEpoch: 1, variation });
  assert.is(varied.run.readOnlyMounts, 'memory');
  assert.is(varied.run.gate, 'stdin');
  assert.ok(varied.run.argv.at(-1)!.startsWith(GATE_PROLOGUE + 'umask 0022\n'));
  assert.is(varied.material.engine?.mounts, 'memory');
  assert.is.not(varied.actionKey, plain.actionKey);
  assert.is(plain.run.gate, undefined);
  const bare = planStepAction(step, { ...resolved, inputs: {} }, { profile: loaded, sourceDateEpoch: 1, variation });
  assert.is(bare.run.gate, undefined);
  assert.is(bare.material.engine, undefined, 'nothing to place: the key is a normal one');
});

create('a shifted clock: libfaketime variables over the step\'s, the injected library mounted read-only, the offset and library in the key', async () => {
  const loaded = await loadSandboxProfile();
  const { profile } = loaded;
  const library = { digest: `sha256:${'2'.repeat(64)}` as const, size: 9 };
  const resolved = { image: { kind: 'oci' as const, ref: 'x@sha256:' + '0'.repeat(64) }, shell: ['/bin/sh', '-c'], inputs: {}, needs: {} };
  const step = planBuild(recipe({ LD_PRELOAD: '/opt/mine.so' }), profile).steps.s!;
  const context = { profile: loaded, sourceDateEpoch: 1, variation: { clock: { offsetSeconds: 100, library } } };
  const injected = planStepAction(step, { ...resolved, clock: { method: 'libfaketime', source: 'injected', library: INJECTED_FAKETIME_PATH, offsetSeconds: 100 } }, context);
  assert.is(injected.run.env.LD_PRELOAD, `${INJECTED_FAKETIME_PATH}:/opt/mine.so`);
  assert.is(injected.run.env.FAKETIME, '+100');
  assert.is(injected.run.env.NO_FAKE_STAT, '1');
  assert.equal(injected.material.engine?.clock, { offsetSeconds: 100, library: library.digest });
  const mount = injected.run.mounts.find((m) => m.path === INJECTED_FAKETIME_PATH);
  assert.equal(mount, { path: INJECTED_FAKETIME_PATH, source: { kind: 'file', digest: library.digest, size: 9, executable: false }, writable: false, owner: 'root' });
  const own = planStepAction(step, { ...resolved, clock: { method: 'libfaketime', source: 'image', library: IMAGE_FAKETIME_PATHS[0]!, offsetSeconds: 100 } }, context);
  assert.not.ok(own.run.mounts.some((m) => m.path === INJECTED_FAKETIME_PATH));
  assert.equal(own.material.engine?.clock, { offsetSeconds: 100 });
  assert.is.not(own.actionKey, injected.actionKey);
  // An image where no libfaketime works: the step is the plain one.
  const none = planStepAction(step, resolved, context);
  assert.is(none.actionKey, planStepAction(step, resolved, { profile: loaded, sourceDateEpoch: 1 }).actionKey);
});

const probe = suite('clockMethodFromProbe');

probe('prefers the first library whose date shows the offset; a library that loads without shifting counts as none', () => {
  const shift = { offsetSeconds: 1000 };
  assert.equal(clockMethodFromProbe(`${IMAGE_FAKETIME_PATHS[0]} 2000 1000\n${INJECTED_FAKETIME_PATH} 2000 1000\n`, shift), {
    method: 'libfaketime', source: 'image', library: IMAGE_FAKETIME_PATHS[0]!, offsetSeconds: 1000,
  });
  assert.is((clockMethodFromProbe(`${INJECTED_FAKETIME_PATH} 2001 1000\n`, shift) as { source: string }).source, 'injected');
  const unshifted = clockMethodFromProbe(`${INJECTED_FAKETIME_PATH} 1000 1000\n`, shift);
  assert.is(unshifted.method, 'none');
  assert.match((unshifted as { reason: string }).reason, /no shift/);
  assert.is(clockMethodFromProbe('', shift).method, 'none');
  assert.is(clockMethodFromProbe('garbage line\n', shift).method, 'none');
});

plan.run();
create.run();
probe.run();
