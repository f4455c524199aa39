import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { planBuild } from '../../src/plan/index.js';
import { toContainerCreateOptions } from '../../src/sandbox/index.js';
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

const create = suite('toContainerCreateOptions with a variation');

create('the engine applies hostname, working directory, cpuset and tmpfs mounts', async () => {
  const { profile } = await loadSandboxProfile();
  const run = { step: 's', image: 'i', argv: ['sh'], env: {}, user: '1:1', input: () => { throw new Error('unused'); }, collect: async () => {} };
  const plain = toContainerCreateOptions(run, profile);
  assert.is(plain.Hostname, 'kiln');
  assert.is(plain.HostConfig?.CpusetCpus, undefined);
  const varied = toContainerCreateOptions({ ...run, variation: { hostname: 'h', domainname: 'd.invalid', workdir: '/build/x/work', cpusetCpus: '0', tmpfs: { '/tmp': 'rw' } } }, profile);
  assert.is(varied.Hostname, 'h');
  assert.is(varied.Domainname, 'd.invalid');
  assert.is(varied.WorkingDir, '/build/x/work');
  assert.is(varied.HostConfig?.CpusetCpus, '0');
  assert.equal(varied.HostConfig?.Tmpfs, { '/tmp': 'rw' });
  assert.equal(varied.HostConfig?.CapDrop, ['ALL']);
});

plan.run();
create.run();
