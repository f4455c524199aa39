import { readFile, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadSandboxProfile, parseSandboxProfile } from '../../src/sandbox/profile.js';
import { canonicalJSON } from '../../src/util/canonical-json.js';
import { sha256Digest } from '../../src/util/digest.js';
import { makeTempDir, rejectsWithCode, repoRoot, throwsWithCode } from '../helpers/index.js';

const shipped = (): Promise<Record<string, unknown>> =>
  readFile(join(repoRoot(), 'sandbox', 'profile.json'), 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>);

const loadSandboxProfileSuite = suite('loadSandboxProfile');

loadSandboxProfileSuite('loads the shipped profile from the package root by default', async () => {
  const loaded = await loadSandboxProfile();
  assert.is(loaded.file, join(repoRoot(), 'sandbox', 'profile.json'));
  assert.is(loaded.profile.network, 'none');
  assert.equal(loaded.profile.capabilities, []);
  assert.is(loaded.profile.noNewPrivileges, true);
  assert.is(loaded.profile.hostname, 'kiln');
  assert.is(loaded.profile.domainname, 'kiln.invalid');
  assert.equal(loaded.profile.limits, { pids: 1024, memoryBytes: 4 * 1024 ** 3, outputBytes: 8 * 1024 ** 3, decompressedBytes: 1024 ** 3 });
  assert.is(loaded.profile.umask, '0022');
  assert.is(loaded.profile.workdir, '/kiln/work');
  assert.equal(loaded.profile.env, {
    TZ: 'UTC', LANG: 'C', LC_ALL: 'C', HOME: '/kiln/work',
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  });
});

loadSandboxProfileSuite('digests the profile without its auditor comment', async () => {
  const loaded = await loadSandboxProfile();
  assert.not.ok('$comment' in loaded.profile);
  assert.is(loaded.digest, sha256Digest(canonicalJSON(loaded.profile)));
});

loadSandboxProfileSuite('reads a given file, whose comment does not change the digest', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const data = await shipped();
    await writeFile(join(dir, 'a.json'), JSON.stringify(data));
    await writeFile(join(dir, 'b.json'), JSON.stringify({ ...data, $comment: 'another note' }));
    const a = await loadSandboxProfile(join(dir, 'a.json'));
    const b = await loadSandboxProfile(join(dir, 'b.json'));
    assert.is(a.file, join(dir, 'a.json'));
    assert.is(a.digest, b.digest);
    assert.equal((await readdir(dir)).sort(), ['a.json', 'b.json']);
  } finally {
    await cleanup();
  }
});

loadSandboxProfileSuite('rejects a missing file with KILN_SANDBOX_BAD_PROFILE', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const err = await rejectsWithCode<{ where?: { file: string } }>(() => loadSandboxProfile(join(dir, 'none.json')), 'KILN_SANDBOX_BAD_PROFILE');
    assert.is(err.where?.file, join(dir, 'none.json'));
    assert.equal(await readdir(dir), []);
  } finally {
    await cleanup();
  }
});

const parseSandboxProfileSuite = suite('parseSandboxProfile');

parseSandboxProfileSuite('changes the digest when a setting changes', async () => {
  const data = await shipped();
  const a = parseSandboxProfile(JSON.stringify(data), 'a.json');
  const b = parseSandboxProfile(JSON.stringify({ ...data, limits: { ...(data.limits as object), pids: 512 } }), 'b.json');
  assert.is.not(a.digest, b.digest);
  assert.is(b.profile.limits.pids, 512);
});

parseSandboxProfileSuite('rejects text that is not JSON', () => {
  throwsWithCode(() => parseSandboxProfile('{ "version": 1,', 'p.json'), 'KILN_SANDBOX_BAD_PROFILE');
});

const shippedSync = await shipped();

const weakenings: [string, (p: Record<string, unknown>) => Record<string, unknown>][] = [
  ['a network other than none', (p) => ({ ...p, network: 'bridge' })],
  ['keeping ALL capabilities', (p) => ({ ...p, capabilities: ['ALL'] })],
  ['keeping CAP_ALL', (p) => ({ ...p, capabilities: ['CAP_ALL'] })],
  ['allowing new privileges', (p) => ({ ...p, noNewPrivileges: false })],
  ['a v1 profile (Docker vocabulary)', (p) => { const { network: _, ...rest } = p; return { ...rest, version: 1, networkMode: 'none' }; }],
  ['an unknown key', (p) => ({ ...p, privileged: true })],
  ['a missing key', (p) => { const { limits: _, ...rest } = p; return rest; }],
  ['a missing limit', (p) => ({ ...p, limits: { pids: 1, memoryBytes: 1 << 30 } })],
  ['an unknown limit', (p) => ({ ...p, limits: { ...(p.limits as object), cpus: 2 } })],
  ['another version', (p) => ({ ...p, version: 3 })],
  ['a hostname with a dot', (p) => ({ ...p, hostname: 'a.b' })],
  ['a zero pids limit', (p) => ({ ...p, limits: { ...(p.limits as object), pids: 0 } })],
  ['a fractional memory limit', (p) => ({ ...p, limits: { ...(p.limits as object), memoryBytes: 1.5 } })],
  ['a memory limit under 6 MiB', (p) => ({ ...p, limits: { ...(p.limits as object), memoryBytes: 1024 } })],
  ['an env value that is not a string', (p) => ({ ...p, env: { A: 1 } })],
  ['a umask that is not octal', (p) => ({ ...p, umask: '0899' })],
  ['a relative workdir', (p) => ({ ...p, workdir: 'kiln/work' })],
  ['no decompression budget', (p) => { const { decompressedBytes: _, ...limits } = p.limits as Record<string, unknown>; return { ...p, limits }; }],
  ['a decompression budget above the output limit', (p) => { const l = p.limits as Record<string, number>; return { ...p, limits: { ...l, decompressedBytes: l.outputBytes! + 1 } }; }],
  ['a comment that is an object', (p) => ({ ...p, $comment: { a: 1 } })],
  ['a top level that is a list', () => [] as unknown as Record<string, unknown>],
];
for (const [what, change] of weakenings) {
  parseSandboxProfileSuite(`rejects ${what}`, async () => {
    const err = throwsWithCode<{ where?: { file: string } }>(
      () => parseSandboxProfile(JSON.stringify(change(structuredClone(shippedSync))), 'p.json'),
      'KILN_SANDBOX_BAD_PROFILE',
    );
    assert.is(err.where?.file, 'p.json');
  });
}


loadSandboxProfileSuite.run();
parseSandboxProfileSuite.run();
