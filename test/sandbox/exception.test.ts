import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { toContainerCreateOptions } from '../../src/sandbox/docker.js';
import { loadSandboxProfile, parseSandboxProfile } from '../../src/sandbox/profile.js';
import type { EngineAction } from '../../src/sandbox/types.js';
import { repoRoot, throwsWithCode } from '../helpers/index.js';

const shipped = async (): Promise<Record<string, unknown>> => JSON.parse(await readFile(join(repoRoot(), 'sandbox', 'profile.json'), 'utf8')) as Record<string, unknown>;

const parse = suite('parseSandboxProfile exceptions');

parse('the shipped profile grants debian-assembly root with CAP_CHOWN, CAP_DAC_OVERRIDE and CAP_FOWNER only, with a reason', async () => {
  const { profile } = await loadSandboxProfile();
  const ex = profile.exceptions?.['debian-assembly'];
  assert.equal(ex?.capabilities, ['CHOWN', 'DAC_OVERRIDE', 'FOWNER']);
  assert.is(ex?.user, '0:0');
  assert.ok((ex?.reason.length ?? 0) > 20);
  assert.equal(profile.capabilities, [], 'normal steps still get no capability');
});

parse('refuses an exception that adds a capability outside the owner/permission set', async () => {
  const p = await shipped();
  p.exceptions = { x: { user: '0:0', capabilities: ['NET_ADMIN'], reason: 'no' } };
  throwsWithCode(() => parseSandboxProfile(JSON.stringify(p), 'p.json'), 'KILN_SANDBOX_BAD_PROFILE');
  p.exceptions = { x: { user: '0:0', capabilities: ['SYS_ADMIN'], reason: 'no' } };
  throwsWithCode(() => parseSandboxProfile(JSON.stringify(p), 'p.json'), 'KILN_SANDBOX_BAD_PROFILE');
});

parse('refuses an exception without a reason or with an unknown key', async () => {
  const p = await shipped();
  p.exceptions = { x: { user: '0:0', capabilities: ['CHOWN'] } };
  throwsWithCode(() => parseSandboxProfile(JSON.stringify(p), 'p.json'), 'KILN_SANDBOX_BAD_PROFILE');
  p.exceptions = { x: { user: '0:0', capabilities: ['CHOWN'], reason: 'r', network: 'host' } };
  throwsWithCode(() => parseSandboxProfile(JSON.stringify(p), 'p.json'), 'KILN_SANDBOX_BAD_PROFILE');
});

parse('a profile without exceptions is valid and has none', async () => {
  const p = await shipped();
  delete p.exceptions;
  assert.is(parseSandboxProfile(JSON.stringify(p), 'p.json').profile.exceptions, undefined);
});

const create = suite('toContainerCreateOptions with an exception');

const run = (extra: Partial<EngineAction>): EngineAction => ({
  label: 'image:t', image: { kind: 'tree', tree: `sha256:${'a'.repeat(64)}` }, argv: ['/bin/sh', '-c', 'true'], env: {}, user: { uid: 1000, gid: 1000 },
  workdir: '/kiln/work', hostname: 'kiln', domainname: 'kiln.invalid', mounts: [], outputPath: '/kiln/out',
  limits: { memoryBytes: 1 << 30, pids: 100, outputBytes: 1 << 30 }, mtime: 0, ...extra,
});
const ROOT = { uid: 0, gid: 0 };

create('adds only the exception capabilities, runs as its user, keeps the network off, labels the container', async () => {
  const { profile } = await loadSandboxProfile();
  const opts = toContainerCreateOptions(run({ user: ROOT, privilege: { name: 'debian-assembly', capabilities: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'] } }), 'img', profile);
  assert.equal(opts.HostConfig?.CapAdd, ['CHOWN', 'DAC_OVERRIDE', 'FOWNER']);
  assert.equal(opts.HostConfig?.CapDrop, ['ALL']);
  assert.is(opts.HostConfig?.NetworkMode, 'none');
  assert.is(opts.NetworkDisabled, true);
  assert.is(opts.User, '0:0');
  assert.is(opts.Labels?.['kiln.exception'], 'debian-assembly');
});

create('a normal step gets no capability and no exception label', async () => {
  const { profile } = await loadSandboxProfile();
  const opts = toContainerCreateOptions(run({}), 'img', profile);
  assert.equal(opts.HostConfig?.CapAdd, []);
  assert.is(opts.Labels?.['kiln.exception'], undefined);
});

create('refuses an exception the profile does not grant', async () => {
  const { profile } = await loadSandboxProfile();
  throwsWithCode(() => toContainerCreateOptions(run({ user: ROOT, privilege: { name: 'anything', capabilities: [] } }), 'img', profile), 'KILN_SANDBOX_BAD_PROFILE');
});

create('refuses a privileged action that asks another user or more capabilities than its exception grants', async () => {
  const { profile } = await loadSandboxProfile();
  throwsWithCode(() => toContainerCreateOptions(run({ privilege: { name: 'debian-assembly', capabilities: ['CHOWN'] } }), 'img', profile), 'KILN_SANDBOX_BAD_PROFILE');
  throwsWithCode(() => toContainerCreateOptions(run({ user: ROOT, privilege: { name: 'debian-assembly', capabilities: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID'] } }), 'img', profile), 'KILN_SANDBOX_BAD_PROFILE');
});

parse.run();
create.run();
