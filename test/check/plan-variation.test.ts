import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { planBuild, planStepAction } from '../../src/plan/index.js';
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

plan.run();
create.run();
