// How an EngineAction becomes a Remote Execution API action (pure): what a farm is refused,
// where the mounts wait in the input root, and the Command that lays them out.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SandboxError } from '../../src/sandbox/errors.js';
import { loadSandboxProfile } from '../../src/sandbox/profile.js';
import { assertRemoteRunnable, planRemoteAction, STAGING_DIR, type RemoteFarm } from '../../src/sandbox/remote-layout.js';
import type { EngineAction } from '../../src/sandbox/types.js';
import type { TreeManifest } from '../../src/store/index.js';
import { sandboxAction } from '../helpers/busybox.js';
import { throwsWithCode } from '../helpers/index.js';
import { createMemoryStore } from '../helpers/memory-store.js';

const { profile } = await loadSandboxProfile();
const store = createMemoryStore();
const base = await sandboxAction(store, profile, 'echo hi > $KILN_OUT/x');
const farm: RemoteFarm = {
  user: { uid: 1000, gid: 1000 },
  hostname: profile.hostname,
  domainname: profile.domainname,
  limits: { memoryBytes: profile.limits.memoryBytes, pids: profile.limits.pids },
  platform: { OSFamily: 'linux' },
};
const FILE = { type: 'file' as const, mode: 0o755 as const, digest: `sha256:${'a'.repeat(64)}` as const, size: 1 };
/** An image with a busybox and no /usr/bin/env: the layout uses applets, the runner a link. */
const busyboxImage: TreeManifest = { kiln: 'tree/v1', entries: [{ path: 'bin', type: 'dir' }, { path: 'bin/busybox', ...FILE }] };

const refused = suite('assertRemoteRunnable: what a farm cannot do as asked is refused, never ignored');

const cases: Array<[string, Partial<EngineAction>]> = [
  ['a registry image', { image: { kind: 'oci', ref: `registry.example/x@sha256:${'b'.repeat(64)}` } }],
  ['another user than the runners', { user: { uid: 0, gid: 0 } }],
  ['a privilege (debian image assembly)', { privilege: { name: 'debian-assembly', capabilities: ['CHOWN'] } }],
  ['another hostname', { hostname: 'elsewhere' }],
  ['a CPU set', { limits: { ...base.limits, cpus: '0' } }],
  ['other limits than the workers apply', { limits: { ...base.limits, pids: 7 } }],
  ['in-memory folders', { tmpfs: { '/kiln/work': 'rw' } }],
  ['read-only mounts in memory', { readOnlyMounts: 'memory' }],
  ['a path that is not normalized', { workdir: '/kiln/../etc' }],
];
for (const [what, change] of cases) {
  refused(what, () => {
    const err = throwsWithCode<Error & { step?: string }>(() => assertRemoteRunnable({ ...base, ...change }, farm), 'KILN_SANDBOX_UNSUPPORTED');
    assert.instance(err, SandboxError);
    assert.is(err.step, 'test');
  });
}

refused('the action as the planner makes it runs', () => {
  assertRemoteRunnable(base, farm);
});

const plan = suite('planRemoteAction');

plan('the image at the root, the runner\'s /usr/bin/env as a link, each file or tree mount staged by its index', () => {
  const p = planRemoteAction(base, { image: busyboxImage, trees: new Map() });
  assert.equal(p.layers[0], { prefix: '', source: { kind: 'tree', manifest: busyboxImage } });
  assert.equal(p.layers[1], { prefix: 'usr/bin', source: { kind: 'tree', manifest: { kiln: 'tree/v1', entries: [{ path: 'env', type: 'symlink', target: '/bin/busybox' }] } } });
  const staged = p.layers.slice(2);
  const fileMounts = base.mounts.map((m, i) => [m, i] as const).filter(([m]) => m.source.kind === 'file' || m.source.kind === 'tree');
  assert.equal(staged.map((l) => l.prefix), fileMounts.map(([, i]) => `${STAGING_DIR}/${i}`));
  assert.equal(staged[0]!.source, base.mounts[0]!.source);
});

plan('the Command is the action\'s shell running the layout, then the action\'s own argv; the output folder and the environment as asked', () => {
  const p = planRemoteAction(base, { image: busyboxImage, trees: new Map() });
  const args = p.command.arguments;
  assert.equal(args.slice(0, 3), base.argv.slice(0, -1));
  assert.equal(args.slice(-base.argv.length), base.argv);
  assert.is(args[args.length - base.argv.length - 1], 'kiln-layout');
  const script = args[3]!;
  assert.match(script, /^set -e\n/);
  assert.match(script, /\/bin\/busybox touch -h -d @1700000000/);
  assert.match(script, /rm -rf '\/usr'\n/, 'the /usr the image lacked is removed before the step starts');
  assert.match(script, /exec "\$@"\n$/);
  assert.equal(p.command.outputPaths, ['kiln/out']);
  assert.is(p.command.env.HOSTNAME, profile.hostname);
  for (const [k, v] of Object.entries(base.env)) assert.is(p.command.env[k], v);
});

plan('an image with the tools on PATH and its own /usr/bin/env: no link, commands by name', () => {
  const image: TreeManifest = {
    kiln: 'tree/v1',
    entries: [
      { path: 'bin', type: 'dir' },
      ...['sh', 'cp', 'find', 'touch', 'chmod', 'mkdir', 'mv', 'rm', 'ln'].map((t) => ({ path: `bin/${t}`, ...FILE })),
      { path: 'usr', type: 'dir' },
      { path: 'usr/bin', type: 'dir' },
      { path: 'usr/bin/env', ...FILE },
    ],
  };
  const p = planRemoteAction(base, { image, trees: new Map() });
  assert.not.ok(p.layers.some((l) => l.prefix === 'usr/bin'));
  assert.not.match(p.command.arguments[3]!, /busybox/);
  assert.match(p.command.arguments[3]!, /-exec touch -h -d @1700000000 /);
});

plan('an image without the layout\'s tools or a busybox is refused, naming what it lacks', () => {
  const image: TreeManifest = { kiln: 'tree/v1', entries: [{ path: 'bin', type: 'dir' }, { path: 'bin/sh', ...FILE }, { path: 'bin/env', ...FILE }] };
  const err = throwsWithCode(() => planRemoteAction(base, { image, trees: new Map() }), 'KILN_SANDBOX_UNSUPPORTED');
  assert.match(err.message, /no cp, find/);
});

plan('an argv that is not a POSIX shell with -c is refused', () => {
  throwsWithCode(() => planRemoteAction({ ...base, argv: ['/bin/busybox', 'true'] }, { image: busyboxImage, trees: new Map() }), 'KILN_SANDBOX_UNSUPPORTED');
});

plan('the timeout travels with the action', () => {
  const p = planRemoteAction({ ...base, limits: { ...base.limits, timeoutMs: 1234 } }, { image: busyboxImage, trees: new Map() });
  assert.is(p.timeoutMs, 1234);
});

refused.run();
plan.run();
