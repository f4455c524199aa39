import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEBIAN_ASSEMBLY_FORMAT, planDebianAssembly } from '../../src/image/index.js';
import type { DebianImageSpec } from '../../src/recipe/index.js';
import { loadSandboxProfile } from '../../src/sandbox/profile.js';

const BASE = `sha256:${'b'.repeat(64)}` as const;
const PACKAGES = `sha256:${'d'.repeat(64)}` as const;

const spec: DebianImageSpec = { name: 'toolchain', kind: 'debian', packages: ['hello'], arch: 'amd64', pins: [], shell: ['/bin/sh', '-e', '-c'], where: { file: 'kiln.yaml', line: 4 } };

const plan = suite('planDebianAssembly');

plan('runs in the base tree with the package folder as the read-only `debs` input, both in the key material', async () => {
  const profile = await loadSandboxProfile();
  const action = planDebianAssembly(spec, { base: BASE, packages: PACKAGES }, { profile, sourceDateEpoch: 1700000000 });
  assert.equal(action.material.image, { kind: 'tree', tree: BASE });
  assert.equal(action.material.inputs, { debs: { kind: 'tree', tree: PACKAGES } });
  assert.equal(action.run.mounts.find((m) => m.path === '/kiln/inputs/debs'), { path: '/kiln/inputs/debs', source: { kind: 'tree', tree: PACKAGES }, writable: false, owner: 'root' });
  assert.ok(action.material.argv.at(-1)!.includes(`# ${DEBIAN_ASSEMBLY_FORMAT}`));
  assert.is(action.run.privilege?.name, 'debian-assembly');
  assert.is(action.run.outputImage, true, 'the engine may take the image in as it reads the output back');

  const other = planDebianAssembly(spec, { base: BASE, packages: `sha256:${'e'.repeat(64)}` }, { profile, sourceDateEpoch: 1700000000 });
  assert.is.not(other.actionKey, action.actionKey, 'another package set is another action');
});

plan.run();
