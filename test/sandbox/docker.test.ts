import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Dockerode from 'dockerode';
import * as tar from 'tar-stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createDockerEngine, parseOciRef, toContainerCreateOptions } from '../../src/sandbox/docker.js';
import { loadSandboxProfile } from '../../src/sandbox/profile.js';
import type { SandboxProfile, StepRun, StepRunResult } from '../../src/sandbox/types.js';
import type { Digest } from '../../src/util/digest.js';
import { NO_DOCKER, busyboxRootfs, ensureBusyboxImage, stepInputTar } from '../helpers/busybox.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';

const { profile } = await loadSandboxProfile();
const docker = new Dockerode();
const engine = createDockerEngine({ profile, docker });
const STEP_ENV = { ...profile.env, KILN_OUT: '/kiln/out', SOURCE_DATE_EPOCH: '1700000000' };
let image = '';

interface TarEntry { name: string; type: string; linkname?: string; mode?: number; content: string }

async function readTar(stream: Readable): Promise<TarEntry[]> {
  const extract = tar.extract();
  const entries: TarEntry[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const h = entry.header;
      entries.push({ name: h.name, type: h.type ?? 'file', linkname: h.linkname ?? undefined, mode: h.mode, content: Buffer.concat(chunks).toString() });
    }
  })();
  stream.on('error', (err) => extract.destroy(err));
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  await done;
  return entries;
}

interface Ran { result: StepRunResult; log: { stream: 'stdout' | 'stderr'; text: string }[]; stdout: string; collected?: TarEntry[] }

/** Runs `script` as the tests' standard step (user 1000:1000, the step input tar). */
async function runScript(script: string, extra: Partial<StepRun> = {}, eng = engine): Promise<Ran> {
  const log: Ran['log'] = [];
  let collected: TarEntry[] | undefined;
  const result = await eng.runStep({
    step: 'test',
    image,
    argv: ['/bin/sh', '-e', '-c', `umask ${profile.umask}\n${script}`],
    env: STEP_ENV,
    user: '1000:1000',
    input: () => stepInputTar(),
    onOutput: (chunk, stream) => log.push({ stream, text: chunk.toString() }),
    collect: async (t) => {
      collected = await readTar(t);
    },
    ...extra,
  });
  const stdout = log.filter((l) => l.stream === 'stdout').map((l) => l.text).join('');
  return { result, log, stdout, ...(collected && { collected }) };
}

async function imageGone(ref: string): Promise<boolean> {
  return docker.getImage(ref).inspect().then(() => false, (err: { statusCode?: number }) => err.statusCode === 404);
}

async function containersOf(step: string): Promise<number> {
  return (await docker.listContainers({ all: true, filters: { label: [`kiln.step=${step}`] } })).length;
}

const withDocker = async (): Promise<void> => {
  if (!NO_DOCKER) image = await ensureBusyboxImage(engine);
};

// ---------------------------------------------------------------------------------------------

const toContainerCreateOptionsSuite = suite('toContainerCreateOptions');

const sampleRun: StepRun = {
  step: 'compile', image: 'kiln.local/tree:abc', argv: ['/bin/sh', '-c', 'true'], env: { B: '2', A: '1' },
  user: '1000:1000', input: () => Readable.from([]), collect: async () => undefined,
};

toContainerCreateOptionsSuite('sets every isolation setting of the profile in the one create request', () => {
  const o = toContainerCreateOptions(sampleRun, profile);
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
  assert.is(h.Memory, profile.memoryBytes);
  assert.is(h.MemorySwap, profile.memoryBytes);
  assert.is(h.Privileged, false);
  assert.is(h.Binds, undefined);
  assert.is(h.Mounts, undefined);
  assert.is(h.AutoRemove, false);
});

toContainerCreateOptionsSuite('passes the environment sorted by name, nothing added', () => {
  assert.equal(toContainerCreateOptions(sampleRun, profile).Env, ['A=1', 'B=2']);
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

const infoSuite = suite('info');
const infoCase = NO_DOCKER ? infoSuite.skip : infoSuite;

infoCase('reports the engine version from the API', async () => {
  const info = await engine.info();
  assert.match(info.version, /^docker \d+\.\d+/);
  assert.match(info.apiVersion, /^1\.\d+$/);
  assert.is(info.os, 'linux');
});

infoSuite('fails with KILN_SANDBOX_ENGINE_UNAVAILABLE and a hint when no engine answers', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const absent = createDockerEngine({ profile, docker: new Dockerode({ socketPath: join(dir, 'docker.sock') }) });
    const err = await rejectsWithCode<{ hint?: string }>(() => absent.info(), 'KILN_SANDBOX_ENGINE_UNAVAILABLE');
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

ensureTreeImageSuite('refuses a tree id that is not a digest', async () => {
  await rejectsWithCode(() => engine.ensureTreeImage('sha256:xyz' as Digest, () => Readable.from([])), 'KILN_SANDBOX_BAD_IMAGE_REF');
});

// ---------------------------------------------------------------------------------------------

const ensureOciImageSuite = suite('ensureOciImage');
const ociCase = NO_DOCKER ? ensureOciImageSuite.skip : ensureOciImageSuite;
ensureOciImageSuite.before(withDocker);

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

ociCase('pulls an image by digest from a local registry and checks its digest', async () => {
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
    await docker.getImage(image).tag({ repo, tag: '1' });
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

const runStepSuite = suite('runStep');
const stepCase = NO_DOCKER ? runStepSuite.skip : runStepSuite;
runStepSuite.before(withDocker);

stepCase('collects /kiln/out as a tar under out/, symlinks kept as links', async () => {
  const ran = await runScript([
    'mkdir $KILN_OUT/sub',
    'echo hello > $KILN_OUT/sub/a.txt',
    'ln -s /etc/passwd $KILN_OUT/pw',
  ].join('\n'));
  assert.is(ran.result.exitCode, 0);
  assert.is(ran.result.killed, undefined);
  const entries = ran.collected!;
  const byName = new Map(entries.map((e) => [e.name.replace(/\/$/, ''), e]));
  assert.equal([...byName.keys()].sort(), ['out', 'out/pw', 'out/sub', 'out/sub/a.txt']);
  const pw = byName.get('out/pw')!;
  assert.is(pw.type, 'symlink');
  assert.is(pw.linkname, '/etc/passwd');
  assert.is(pw.content, '');
  assert.is(byName.get('out/sub/a.txt')!.content, 'hello\n');
  // The script's umask line decides the mode of what it writes.
  assert.is(byName.get('out/sub/a.txt')!.mode! & 0o777, 0o644);
  assert.is(await containersOf('test'), 0);
});

stepCase('passes the environment exactly (plus the engine\'s HOSTNAME)', async () => {
  // Not the script's last command: ash would exec it as PID 1, replacing the environment read.
  const ran = await runScript('tr "\\0" "\\n" < /proc/1/environ\necho END');
  assert.is(ran.result.exitCode, 0);
  const seen = ran.stdout.split('\n').filter((l) => l && l !== 'END').sort();
  const expected = [...Object.entries(STEP_ENV).map(([k, v]) => `${k}=${v}`), 'HOSTNAME=kiln'].sort();
  assert.equal(seen, expected);
});

stepCase('propagates a non-zero exit code and does not collect', async () => {
  let collected = false;
  const ran = await runScript('echo partial > $KILN_OUT/f\nexit 3', { collect: async () => { collected = true; } });
  assert.is(ran.result.exitCode, 3);
  assert.is(ran.result.killed, undefined);
  assert.not.ok(collected);
  assert.is(await containersOf('test'), 0);
});

stepCase('delivers stdout and stderr to onOutput in the order written', async () => {
  const ran = await runScript('echo one\nsleep 0.2\necho two >&2\nsleep 0.2\necho three');
  assert.is(ran.result.exitCode, 0);
  const merged: string[] = [];
  for (const { stream, text } of ran.log) for (const line of text.split('\n').filter(Boolean)) merged.push(`${stream}:${line}`);
  assert.equal(merged, ['stdout:one', 'stderr:two', 'stdout:three']);
});

stepCase('kills a step that outlives timeoutMs', async () => {
  let collected = false;
  const t0 = Date.now();
  const ran = await runScript('sleep 30', { timeoutMs: 300, collect: async () => { collected = true; } });
  assert.is(ran.result.killed, 'timeout');
  assert.is.not(ran.result.exitCode, 0);
  assert.ok(Date.now() - t0 < 10_000);
  assert.not.ok(collected);
  assert.is(await containersOf('test'), 0);
});

stepCase('reports an out-of-memory kill as oom', async () => {
  const small = createDockerEngine({ profile: { ...profile, memoryBytes: 16 * 1024 * 1024 }, docker });
  const ran = await runScript('dd if=/dev/zero of=/dev/null bs=64M count=1', {}, small);
  assert.is(ran.result.killed, "oom");
  assert.is.not(ran.result.exitCode, 0);
});

stepCase('fails with KILN_SANDBOX_OUTPUT_TOO_LARGE past maxOutputBytes and removes the container', async () => {
  const tight: SandboxProfile = { ...profile, maxOutputBytes: 8192 };
  const small = createDockerEngine({ profile: tight, docker });
  await rejectsWithCode(
    () => runScript('dd if=/dev/zero of=$KILN_OUT/big bs=1024 count=64 2>/dev/null', { step: 'too-large' }, small),
    'KILN_SANDBOX_OUTPUT_TOO_LARGE',
  );
  assert.is(await containersOf('too-large'), 0);
});

stepCase('ignores an image ENTRYPOINT: argv runs as given', async () => {
  const { bytes } = await busyboxRootfs();
  const ref = `kiln-test/entrypoint:${randomBytes(8).toString('hex')}`;
  const [repo, tag] = ref.split(':') as [string, string];
  const progress = await docker.importImage(Readable.from([bytes]), { repo, tag, changes: ['ENTRYPOINT ["/bin/false"]'] });
  for await (const _ of progress as AsyncIterable<Buffer>) { /* drain */ }
  try {
    const ran = await runScript('echo ran', { image: ref });
    assert.is(ran.result.exitCode, 0);
    assert.is(ran.stdout, 'ran\n');
  } finally {
    await docker.getImage(ref).remove().catch(() => undefined);
  }
  assert.ok(await imageGone(ref));
});

stepCase('wraps a create failure (image absent) as KILN_SANDBOX_ENGINE_ERROR with the step', async () => {
  const err = await rejectsWithCode<{ step?: string }>(
    () => runScript('true', { step: 'no-image', image: `kiln.local/tree:${'f'.repeat(64)}` }),
    'KILN_SANDBOX_ENGINE_ERROR',
  );
  assert.is(err.step, 'no-image');
  assert.is(await containersOf('no-image'), 0);
});

toContainerCreateOptionsSuite.run();
parseOciRefSuite.run();
infoSuite.run();
ensureTreeImageSuite.run();
ensureOciImageSuite.run();
runStepSuite.run();
