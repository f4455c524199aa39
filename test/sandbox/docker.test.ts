import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Dockerode from 'dockerode';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GATE_PROLOGUE } from '../../src/plan/index.js';
import { createDockerEngine, parseOciRef, splitMounts, toContainerCreateOptions } from '../../src/sandbox/docker.js';
import { loadSandboxProfile } from '../../src/sandbox/profile.js';
import type { EngineAction, EngineResult } from '../../src/sandbox/types.js';
import { createStore, type Store, type TreeEntry } from '../../src/store/index.js';
import type { Digest } from '../../src/util/digest.js';
import { NO_DOCKER, busyboxRootfs, busyboxTree, sandboxAction } from '../helpers/busybox.js';
import { makeTempDir, rejectsWithCode, throwsWithCode } from '../helpers/index.js';

const { profile } = await loadSandboxProfile();
const docker = new Dockerode();
const scratch = await makeTempDir();
const store: Store = await createStore({ root: join(scratch.dir, 'store') });
const engine = createDockerEngine({ profile, docker });

interface Ran { result: EngineResult; log: { stream: 'stdout' | 'stderr'; text: string }[]; stdout: string }

/** Runs `script` as the tests' standard action (user 1000:1000, /kiln/inputs/x, scratch folders). */
async function runScript(script: string, extra: Partial<EngineAction> = {}, eng = engine, signal?: AbortSignal): Promise<Ran> {
  const log: Ran['log'] = [];
  const action = await sandboxAction(store, profile, script, extra);
  const result = await eng.run(action, { store, onOutput: (chunk, stream) => log.push({ stream, text: chunk.toString() }), ...(signal && { signal }) });
  const stdout = log.filter((l) => l.stream === 'stdout').map((l) => l.text).join('');
  return { result, log, stdout };
}

async function imageGone(ref: string): Promise<boolean> {
  return docker.getImage(ref).inspect().then(() => false, (err: { statusCode?: number }) => err.statusCode === 404);
}

async function containersOf(step: string): Promise<number> {
  return (await docker.listContainers({ all: true, filters: { label: [`kiln.step=${step}`] } })).length;
}

// ---------------------------------------------------------------------------------------------

const toContainerCreateOptionsSuite = suite('toContainerCreateOptions');

const sampleAction: EngineAction = {
  label: 'compile', image: { kind: 'tree', tree: `sha256:${'a'.repeat(64)}` }, argv: ['/bin/sh', '-c', 'true'], env: { B: '2', A: '1' },
  user: { uid: 1000, gid: 1000 }, workdir: profile.workdir, hostname: profile.hostname, domainname: profile.domainname,
  mounts: [], outputPath: '/kiln/out', limits: { ...profile.limits }, mtime: 0,
};

toContainerCreateOptionsSuite('sets every isolation setting of the profile in the one create request', () => {
  const o = toContainerCreateOptions(sampleAction, 'kiln.local/tree:abc', profile);
  assert.is(o.Image, 'kiln.local/tree:abc');
  assert.equal(o.Cmd, ['/bin/sh', '-c', 'true']);
  assert.equal(o.Entrypoint, []);
  assert.is(o.User, '1000:1000');
  assert.is(o.WorkingDir, '/kiln/work');
  assert.is(o.Hostname, 'kiln');
  assert.is(o.Domainname, 'kiln.invalid');
  assert.is(o.NetworkDisabled, true);
  assert.equal(o.Labels, { 'kiln.step': 'compile' });
  const h = o.HostConfig!;
  assert.is(h.NetworkMode, 'none');
  assert.equal(h.CapDrop, ['ALL']);
  assert.equal(h.SecurityOpt, ['no-new-privileges']);
  assert.is(h.PidsLimit, 1024);
  assert.is(h.Memory, profile.limits.memoryBytes);
  assert.is(h.MemorySwap, profile.limits.memoryBytes);
  assert.is(h.Privileged, false);
  assert.is(h.Binds, undefined);
  assert.is(h.Mounts, undefined);
  assert.is(h.AutoRemove, false);
});

toContainerCreateOptionsSuite('passes the environment sorted by name, nothing added', () => {
  assert.equal(toContainerCreateOptions(sampleAction, 'img', profile).Env, ['A=1', 'B=2']);
});

const parseOciRefSuite = suite('parseOciRef');

parseOciRefSuite('splits a digest reference', () => {
  const hex = 'a'.repeat(64);
  assert.equal(parseOciRef(`127.0.0.1:5000/x/y@sha256:${hex}`), { name: '127.0.0.1:5000/x/y', hex });
});

parseOciRefSuite('refuses a reference by tag', async () => {
  await rejectsWithCode(async () => parseOciRef('busybox:1.36'), 'KILN_SANDBOX_BAD_IMAGE_REF');
});

// ---------------------------------------------------------------------------------------------

const infoSuite = suite('describe');
const infoCase = NO_DOCKER ? infoSuite.skip : infoSuite;

infoCase('reports the engine kind and version from the API', async () => {
  const info = await engine.describe();
  assert.is(info.engine, 'docker');
  assert.match(info.version, /^docker \d+\.\d+/);
  assert.match(String(info.apiVersion), /^1\.\d+$/);
  assert.is(info.os, 'linux');
});

infoSuite('fails with KILN_SANDBOX_ENGINE_UNAVAILABLE and a hint when no engine answers', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const absent = createDockerEngine({ profile, docker: new Dockerode({ socketPath: join(dir, 'docker.sock') }) });
    const err = await rejectsWithCode<{ hint?: string }>(() => absent.describe(), 'KILN_SANDBOX_ENGINE_UNAVAILABLE');
    assert.match(err.hint ?? '', /DOCKER_HOST/);
    assert.equal(await readdir(dir), []);
  } finally {
    await cleanup();
  }
});

// ---------------------------------------------------------------------------------------------

const ensureTreeImageSuite = suite('ensureTreeImage');
const treeCase = NO_DOCKER ? ensureTreeImageSuite.skip : ensureTreeImageSuite;

treeCase('imports a tree once, shares concurrent calls and reuses the tagged image later', async () => {
  const { bytes } = await busyboxRootfs();
  // A fresh fake tree digest, so this run really imports.
  const tree = `sha256:${randomBytes(32).toString('hex')}` as Digest;
  let opened = 0;
  const rootfs = (): Readable => {
    opened++;
    return Readable.from([bytes]);
  };
  const ref = `kiln.local/tree:${tree.slice(7)}`;
  try {
    const [a, b] = await Promise.all([engine.ensureTreeImage(tree, rootfs), engine.ensureTreeImage(tree, rootfs)]);
    assert.is(a, ref);
    assert.is(b, ref);
    assert.is(opened, 1);
    const created = (await docker.getImage(ref).inspect()).Created;
    // Another engine (another process) finds the tag and imports nothing.
    const other = createDockerEngine({ profile, docker });
    assert.is(await other.ensureTreeImage(tree, rootfs), ref);
    assert.is(opened, 1);
    assert.is((await docker.getImage(ref).inspect()).Created, created);
  } finally {
    await docker.getImage(ref).remove().catch(() => undefined);
  }
  assert.ok(await imageGone(ref));
});

treeCase('fails with KILN_SANDBOX_IMAGE_IMPORT when the rootfs is not a tar, and tags nothing', async () => {
  const tree = `sha256:${randomBytes(32).toString('hex')}` as Digest;
  await rejectsWithCode(() => engine.ensureTreeImage(tree, () => Readable.from([Buffer.from('not a tar at all')])), 'KILN_SANDBOX_IMAGE_IMPORT');
  assert.ok(await imageGone(`kiln.local/tree:${tree.slice(7)}`));
});

treeCase('prepareImage imports a tree ahead of the run that needs it, with the run\'s mtime', async () => {
  // The busybox tree plus a file of its own: a tree no other test has imported.
  const base = await store.readTree(await busyboxTree(store));
  const marker = await store.putBytes(randomBytes(16).toString('hex'));
  const tree = await store.putTree({ kiln: 'tree/v1', entries: [...base.entries, { path: 'zz-marker', type: 'file' as const, mode: 0o644 as const, digest: marker.digest, size: marker.size }].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path))) });
  const ref = `kiln.local/tree:${tree.slice(7)}`;
  try {
    engine.prepareImage({ kind: 'tree', tree }, { store, mtime: 1700000000 });
    for (let i = 0; i < 200 && (await imageGone(ref)); i++) await new Promise((r) => setTimeout(r, 100));
    assert.not.ok(await imageGone(ref), 'imported before any run asked');
    const ran = await runScript('stat -c %Y /zz-marker', { image: { kind: 'tree', tree } });
    assert.is(ran.result.exitCode, 0);
    assert.is(ran.stdout.trim(), '1700000000');
  } finally {
    await docker.getImage(ref).remove().catch(() => undefined);
  }
});

ensureTreeImageSuite('refuses a tree id that is not a digest', async () => {
  await rejectsWithCode(() => engine.ensureTreeImage('sha256:xyz' as Digest, () => Readable.from([])), 'KILN_SANDBOX_BAD_IMAGE_REF');
});

// ---------------------------------------------------------------------------------------------

const ensureOciImageSuite = suite('ensureOciImage');
const ociCase = NO_DOCKER ? ensureOciImageSuite.skip : ensureOciImageSuite;

const REGISTRY_BIN = '/usr/bin/docker-registry';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitForRegistry(port: number, child: ChildProcess): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('docker-registry did not answer within 10 s');
}

/** Reads a push stream to its end; returns the pushed manifest digest. */
async function pushedDigest(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const c of stream as AsyncIterable<Buffer>) text += c.toString();
  let digest: string | undefined;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const msg = JSON.parse(line) as { error?: string; aux?: { Digest?: string } };
    if (msg.error) throw new Error(`push failed: ${msg.error}`);
    digest = msg.aux?.Digest ?? digest;
  }
  if (!digest) throw new Error('push reported no digest');
  return digest;
}

ociCase('pulls an image by digest from a local registry, checks its digest, and runs argv past its ENTRYPOINT', async () => {
  assert.ok(existsSync(REGISTRY_BIN), `${REGISTRY_BIN} is missing: install Debian's docker-registry package (CI does)`);
  const { dir, cleanup } = await makeTempDir();
  const port = await freePort();
  const repo = `127.0.0.1:${port}/kiln-test/busybox`;
  await writeFile(join(dir, 'config.yml'), [
    'version: 0.1',
    'log: { level: error }',
    'storage:',
    `  filesystem: { rootdirectory: ${join(dir, 'data')} }`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n'));
  const registry = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  let pinned = '';
  try {
    await waitForRegistry(port, registry);
    const { bytes } = await busyboxRootfs();
    // An image whose own ENTRYPOINT would fail the step: kiln must run argv as given.
    const progress = await docker.importImage(Readable.from([bytes]), { repo, tag: '1', changes: ['ENTRYPOINT ["/bin/false"]'] });
    for await (const _ of progress as AsyncIterable<Buffer>) { /* drain */ }
    const digest = await pushedDigest(await docker.getImage(repo).push({ tag: '1', authconfig: {} }));
    pinned = `${repo}@${digest}`;
    // Forget every local name of it, so the engine must pull.
    await docker.getImage(`${repo}:1`).remove();
    await docker.getImage(pinned).remove().catch(() => undefined);
    assert.ok(await imageGone(pinned));

    assert.is(await engine.ensureOciImage(pinned), pinned);
    const pulled = await docker.getImage(pinned).inspect();
    assert.ok(pulled.RepoDigests.includes(pinned));
    // Present now: a second call only checks.
    assert.is(await engine.ensureOciImage(pinned), pinned);

    const ran = await runScript('echo ran', { image: { kind: 'oci', ref: pinned } });
    assert.is(ran.result.exitCode, 0);
    assert.is(ran.stdout, 'ran\n');

    await rejectsWithCode(() => engine.ensureOciImage(`${repo}@sha256:${'0'.repeat(64)}`), 'KILN_SANDBOX_IMAGE_PULL');
  } finally {
    registry.kill('SIGTERM');
    if (pinned) await docker.getImage(pinned).remove().catch(() => undefined);
    await docker.getImage(`${repo}:1`).remove().catch(() => undefined);
    await cleanup();
  }
  if (pinned) assert.ok(await imageGone(pinned));
  await new Promise((r) => (registry.exitCode !== null || registry.signalCode !== null ? r(undefined) : registry.once('exit', r)));
  assert.ok(registry.exitCode !== null || registry.signalCode !== null);
});

ensureOciImageSuite('fails with KILN_SANDBOX_IMAGE_DIGEST when the local copy carries another digest', async () => {
  const hex = 'a'.repeat(64);
  const fake = {
    getImage: () => ({ inspect: async () => ({ RepoDigests: [`x/y@sha256:${'b'.repeat(64)}`] }) }),
  } as unknown as Dockerode;
  const err = await rejectsWithCode<{ expected?: string }>(
    () => createDockerEngine({ profile, docker: fake }).ensureOciImage(`x/y@sha256:${hex}`),
    'KILN_SANDBOX_IMAGE_DIGEST',
  );
  assert.is(err.expected, `sha256:${hex}`);
});

ensureOciImageSuite('refuses a reference by tag before asking the engine', async () => {
  const fake = {} as Dockerode;
  await rejectsWithCode(() => createDockerEngine({ profile, docker: fake }).ensureOciImage('busybox:latest'), 'KILN_SANDBOX_BAD_IMAGE_REF');
});

// ---------------------------------------------------------------------------------------------

const runSuite = suite('run');
const stepCase = NO_DOCKER ? runSuite.skip : runSuite;

stepCase('returns the output folder as a tree in the store, symlinks kept as links, and removes the container', async () => {
  const ran = await runScript([
    'mkdir $KILN_OUT/sub',
    'echo hello > $KILN_OUT/sub/a.txt',
    'ln -s /etc/passwd $KILN_OUT/pw',
  ].join('\n'));
  assert.is(ran.result.exitCode, 0);
  assert.is(ran.result.killed, undefined);
  assert.is(ran.result.executor.engine, 'docker');
  const manifest = await store.readTree(ran.result.outputTree!);
  const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
  assert.equal([...byPath.keys()].sort(), ['pw', 'sub', 'sub/a.txt']);
  const pw = byPath.get('pw')!;
  assert.is(pw.type, 'symlink');
  assert.is(pw.type === 'symlink' && pw.target, '/etc/passwd');
  const a = byPath.get('sub/a.txt')!;
  assert.ok(a.type === 'file');
  assert.is((await store.readBlob(a.digest)).toString(), 'hello\n');
  assert.is(await containersOf('test'), 0);
});

stepCase('outputImage: the output is imported as the image of its tree while it is read back, as a tree import would give it', async () => {
  const script = [
    'cp -a /bin /etc $KILN_OUT/',
    'mkdir -p $KILN_OUT/usr/bin $KILN_OUT/var/lib $KILN_OUT/tmp',
    'printf tool > $KILN_OUT/usr/bin/tool && chmod 4755 $KILN_OUT/usr/bin/tool',
    'ln $KILN_OUT/usr/bin/tool $KILN_OUT/usr/bin/tool2',
    'ln -s usr/bin $KILN_OUT/ubin',
    `head -c 3000000 /dev/zero > $KILN_OUT/var/lib/big && echo ${randomBytes(8).toString('hex')} > $KILN_OUT/var/lib/unique`,
  ].join('\n');
  const ran = await runScript(script, { outputImage: true });
  assert.is(ran.result.exitCode, 0);
  const tree = ran.result.outputTree!;
  const ref = `kiln.local/tree:${tree.slice(7)}`;
  try {
    assert.not.ok(await imageGone(ref), 'tagged as the output tree');
    const pending = await docker.listImages({ filters: { reference: ['kiln.local/tree:pending-*'] } });
    assert.equal(pending.filter((i) => i.RepoTags?.some((t) => t.includes(tree.slice(7, 19)))), []);
    const check = await runScript('stat -c "%n %a %u %g %Y %h" /usr/bin/tool /usr/bin/tool2 /usr/bin /var/lib/big; readlink /ubin', { image: { kind: 'tree', tree } });
    assert.is(check.result.exitCode, 0);
    assert.equal(check.stdout.trim().split('\n'), [
      '/usr/bin/tool 755 0 0 1700000000 1',
      '/usr/bin/tool2 755 0 0 1700000000 1',
      '/usr/bin 755 0 0 1700000000 2',
      '/var/lib/big 644 0 0 1700000000 1',
      'usr/bin',
    ]);
  } finally {
    await docker.getImage(ref).remove().catch(() => undefined);
  }
});

stepCase('passes the environment exactly (plus the engine\'s HOSTNAME)', async () => {
  // Not the script's last command: ash would exec it as PID 1, replacing the environment read.
  const ran = await runScript('tr "\\0" "\\n" < /proc/1/environ\necho END');
  assert.is(ran.result.exitCode, 0);
  const seen = ran.stdout.split('\n').filter((l) => l && l !== 'END').sort();
  const action = await sandboxAction(store, profile, '');
  const expected = [...Object.entries(action.env).map(([k, v]) => `${k}=${v}`), 'HOSTNAME=kiln'].sort();
  assert.equal(seen, expected);
});

stepCase('propagates a non-zero exit code and returns no output tree', async () => {
  const ran = await runScript('echo partial > $KILN_OUT/f\nexit 3');
  assert.is(ran.result.exitCode, 3);
  assert.is(ran.result.killed, undefined);
  assert.is(ran.result.outputTree, undefined);
  assert.is(await containersOf('test'), 0);
});

stepCase('delivers stdout and stderr to onOutput in the order written', async () => {
  const ran = await runScript('echo one\nsleep 0.2\necho two >&2\nsleep 0.2\necho three');
  assert.is(ran.result.exitCode, 0);
  const merged: string[] = [];
  for (const { stream, text } of ran.log) for (const line of text.split('\n').filter(Boolean)) merged.push(`${stream}:${line}`);
  assert.equal(merged, ['stdout:one', 'stderr:two', 'stdout:three']);
});

stepCase('kills an action that outlives its time limit', async () => {
  const t0 = Date.now();
  const action = await sandboxAction(store, profile, 'sleep 30');
  const ran = await runScript('sleep 30', { limits: { ...action.limits, timeoutMs: 300 } });
  assert.is(ran.result.killed, 'timeout');
  assert.is.not(ran.result.exitCode, 0);
  assert.ok(Date.now() - t0 < 10_000);
  assert.is(ran.result.outputTree, undefined);
  assert.is(await containersOf('test'), 0);
});

stepCase('reports an out-of-memory kill as oom', async () => {
  const action = await sandboxAction(store, profile, '');
  const ran = await runScript('dd if=/dev/zero of=/dev/null bs=64M count=1', { limits: { ...action.limits, memoryBytes: 16 * 1024 * 1024 } });
  assert.is(ran.result.killed, 'oom');
  assert.is.not(ran.result.exitCode, 0);
});

stepCase('fails with KILN_SANDBOX_OUTPUT_TOO_LARGE past the output limit and removes the container', async () => {
  const action = await sandboxAction(store, profile, '');
  await rejectsWithCode(
    () => runScript('dd if=/dev/zero of=$KILN_OUT/big bs=1024 count=64 2>/dev/null', { label: 'too-large', limits: { ...action.limits, outputBytes: 8192 } }),
    'KILN_SANDBOX_OUTPUT_TOO_LARGE',
  );
  assert.is(await containersOf('too-large'), 0);
});

stepCase('wraps a create failure as KILN_SANDBOX_ENGINE_ERROR with the step, and leaves no container', async () => {
  const failing = Object.create(docker) as Dockerode;
  failing.createContainer = async () => { throw Object.assign(new Error('(HTTP code 404) no such image'), { statusCode: 404 }); };
  const err = await rejectsWithCode<{ step?: string }>(
    () => runScript('true', { label: 'no-image' }, createDockerEngine({ profile, docker: failing })),
    'KILN_SANDBOX_ENGINE_ERROR',
  );
  assert.is(err.step, 'no-image');
  assert.is(await containersOf('no-image'), 0);
});

stepCase('read-only mounts in memory are listed in another order than in the layer, stay root-owned and read-only, and leave no volume behind', async () => {
  const entries: TreeEntry[] = [];
  for (let i = 0; i < 300; i++) {
    const put = await store.putBytes(`${i}\n`);
    entries.push({ path: `f${i}`, type: 'file' as const, mode: 0o644, digest: put.digest, size: put.size });
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : 1));
  const tree = await store.putTree({ kiln: 'tree/v1', entries });
  const base = await sandboxAction(store, profile, '');
  const mounts = [{ path: '/kiln/inputs/many', source: { kind: 'tree' as const, tree }, writable: false, owner: 'root' as const }, ...base.mounts];
  const script = [
    'find /kiln/inputs/many -type f | head -20 | tr "\\n" " "; echo',
    'stat -c "%u:%g %a" /kiln/inputs /kiln/inputs/many /kiln/inputs/many/f1 /kiln/inputs/x | tr "\\n" " "; echo',
    'touch /kiln/inputs/many/new 2>/dev/null && echo wrote || echo denied',
    'echo more >> /kiln/inputs/x 2>/dev/null && echo wrote || echo denied',
    'id -u',
  ].join('\n');
  const inLayer = await runScript(script, { mounts, label: 'in-layer' });
  const inMemory = await runScript(GATE_PROLOGUE + script, { mounts, label: 'in-memory', readOnlyMounts: 'memory', gate: 'stdin' });
  assert.is(inLayer.result.exitCode, 0);
  assert.is(inMemory.result.exitCode, 0, inMemory.stdout);
  const [listA, ownersA, ...restA] = inLayer.stdout.trim().split('\n');
  const [listB, ownersB, ...restB] = inMemory.stdout.trim().split('\n');
  assert.is.not(listB, listA, 'the listing order differs');
  assert.is(listA!.trim().split(' ').length, 20);
  assert.is(listB!.trim().split(' ').length, 20);
  assert.is(ownersB, ownersA);
  assert.is(ownersB!.trim(), '0:0 755 0:0 555 0:0 444 0:0 444');
  assert.equal(restB, ['denied', 'denied', '1000']);
  assert.equal(restA, restB);
  const left = await docker.listVolumes({ filters: { label: ['kiln.step=in-memory'] } });
  assert.is(left.Volumes?.length ?? 0, 0, 'no volume left');
  assert.is(await containersOf('in-memory'), 0);
});

toContainerCreateOptionsSuite('a gated action with in-memory mounts opens stdin and mounts one volume per folder of read-only mounts', () => {
  const action: EngineAction = {
    ...sampleAction, readOnlyMounts: 'memory', gate: 'stdin',
    mounts: [
      { path: '/kiln/inputs/src', source: { kind: 'tree', tree: `sha256:${'b'.repeat(64)}` }, writable: false, owner: 'root' },
      { path: '/kiln/steps/compile', source: { kind: 'tree', tree: `sha256:${'c'.repeat(64)}` }, writable: false, owner: 'root' },
      { path: '/kiln/out', source: { kind: 'dir', mode: 0o755 }, writable: true, owner: 'user' },
    ],
  };
  const split = splitMounts(action);
  assert.equal(split.volumes.map((v) => v.path), ['/kiln/inputs', '/kiln/steps']);
  assert.equal(split.early.map((m) => m.path), ['/kiln/out']);
  const o = toContainerCreateOptions(action, 'i', profile, split.volumes);
  assert.is(o.OpenStdin, true);
  assert.is(o.StdinOnce, true);
  assert.equal(o.HostConfig?.Mounts?.map((m) => m.Target), ['/kiln/inputs', '/kiln/steps']);
  assert.is(toContainerCreateOptions(sampleAction, 'i', profile).OpenStdin, false);
  assert.is(toContainerCreateOptions(sampleAction, 'i', profile).HostConfig?.Mounts, undefined);
});

toContainerCreateOptionsSuite('in-memory mounts are refused without the gate, or where a volume would hide another mount', () => {
  const ro = { source: { kind: 'tree' as const, tree: `sha256:${'b'.repeat(64)}` as const }, writable: false, owner: 'root' as const };
  throwsWithCode(() => splitMounts({ ...sampleAction, readOnlyMounts: 'memory', mounts: [{ ...ro, path: '/kiln/inputs/src' }] }), 'KILN_SANDBOX_ENGINE_ERROR');
  throwsWithCode(() => splitMounts({
    ...sampleAction, readOnlyMounts: 'memory', gate: 'stdin',
    mounts: [{ ...ro, path: '/kiln/inputs/src' }, { path: '/kiln/inputs/scratch', source: { kind: 'dir', mode: 0o755 }, writable: true, owner: 'user' }],
  }), 'KILN_SANDBOX_ENGINE_ERROR');
});

toContainerCreateOptionsSuite.run();
parseOciRefSuite.run();
infoSuite.run();
ensureTreeImageSuite.run();
ensureOciImageSuite.run();
runSuite.after(() => scratch.cleanup());
runSuite.run();
