import { spawn } from 'node:child_process';
import { chmod, cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { busyboxRootfs } from '../../helpers/busybox.js';
import { deadUrl, startFileServer, startLocalArchive, startSnapshotService, writeAptConfig, type LocalArchive } from '../../helpers/apt-repo.js';
import { makeTempDir, repoRoot } from '../../helpers/index.js';

// The release team's path end to end, through the real CLI and a real engine: kiln lock
// against a local Debian archive, kiln vendor, a build; then the archive moves on (the locked
// versions gone) and `kiln build --locked` in fresh stores fails clearly without a source, and
// succeeds from the vendored folder (apt and the network unreachable), an HTTP mirror given
// through $KILN_MIRRORS, or a snapshot service; `kiln rebuild --mirror` reproduces the build.

const KILN = join(repoRoot(), 'bin', 'kiln.js');
const KEY = join(repoRoot(), 'examples', 'keys', 'example.key');
const PUB = join(repoRoot(), 'examples', 'keys', 'example.pub');

interface Run { code: number | null; stdout: string; stderr: string }

function kiln(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [KILN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const recipeText = (archive: string) => `kiln: 1
name: durable
sourceDateEpoch: 1700000000
inputs:
  rootfs:
    path: rootfs.tar
  fix:
    deb: kiln-fix=1.0-1
  doc:
    url: ${archive}debian/pool/main/k/kiln-doc/kiln-doc_2.0-1_amd64.deb
images:
  base:
    rootfs: rootfs
steps:
  show:
    image: base
    inputs: [fix, doc]
    run: cat /kiln/inputs/fix /kiln/inputs/doc | wc -c > $KILN_OUT/size.txt
artifacts:
  - from: show
    path: size.txt
`;

const test = suite<{ dir: string; cleanup: () => Promise<void>; archive: LocalArchive; recipe: string; vendor: string; dead: string; deadApt: string; built: string }>('kiln vendor and durable builds (CLI)');

test.before(async (ctx) => {
  const { dir, cleanup } = await makeTempDir();
  ctx.dir = dir;
  ctx.cleanup = cleanup;
  ctx.archive = await startLocalArchive(join(dir, 'a'), [
    { package: 'kiln-fix', version: '1.0-1', archive: 'debian-security' },
    { package: 'kiln-doc', version: '2.0-1' },
  ]);
  ctx.recipe = join(dir, 'recipe');
  await cp(join(dir, 'a', 'archive'), join(dir, 'snapshot'), { recursive: true });
  const { mkdir } = await import('node:fs/promises');
  await mkdir(ctx.recipe);
  await writeFile(join(ctx.recipe, 'kiln.yaml'), recipeText(ctx.archive.url));
  await writeFile(join(ctx.recipe, 'rootfs.tar'), (await busyboxRootfs()).bytes);
  ctx.vendor = join(dir, 'vendor');
  ctx.dead = await deadUrl();
  ctx.deadApt = (await writeAptConfig(join(dir, 'dead-apt'), `deb [trusted=yes] ${ctx.dead}debian stable main\n`)).APT_CONFIG;
  ctx.built = '';
});

test.after(async (ctx) => {
  await ctx.archive.close();
  await ctx.cleanup();
});

const env = (ctx: { dir: string }, store: string, apt: string, extra: Record<string, string> = {}) => ({ KILN_STORE: join(ctx.dir, store), APT_CONFIG: apt, KILN_MIRRORS: '', KILN_DEBIAN_SNAPSHOT: '', ...extra });

const artifact = async (out: string) => readFile(join(out, 'size.txt'), 'utf8');

test('lock, vendor, check and build while the archive has the versions', async (ctx) => {
  const apt = ctx.archive.env.APT_CONFIG;
  const lock = await kiln(['lock', ctx.recipe], env(ctx, 'store-lock', apt));
  assert.is(lock.code, 0, lock.stderr);
  const vendored = await kiln(['vendor', ctx.recipe, '--out', ctx.vendor], env(ctx, 'store-vendor', apt));
  assert.is(vendored.code, 0, vendored.stderr);
  assert.match(vendored.stdout, /vendored 2 blobs/);
  const check = await kiln(['vendor', ctx.recipe, '--check', ctx.vendor, '--json'], env(ctx, 'store-vendor', apt));
  assert.is(check.code, 0, check.stdout + check.stderr);
  const report = JSON.parse(check.stdout) as { checked: number; ok: boolean; incomplete: string[] };
  assert.is(report.checked, 2);
  assert.equal(report.incomplete, []);
  const out = join(ctx.dir, 'out-first');
  const build = await kiln(['build', ctx.recipe, '--locked', '--out', out, '--sign-key', KEY], env(ctx, 'store-first', apt));
  assert.is(build.code, 0, build.stderr);
  ctx.built = await artifact(out);
  // The archive moves on: both locked versions are gone.
  await ctx.archive.publish([{ package: 'kiln-fix', version: '1.0-2', archive: 'debian-security' }, { package: 'kiln-doc', version: '2.0-2' }]);
});

test('(a) without another source: exit 2, every source and what to do named, no output written', async (ctx) => {
  const out = join(ctx.dir, 'out-a');
  const run = await kiln(['build', ctx.recipe, '--locked', '--out', out], env(ctx, 'store-a', ctx.archive.env.APT_CONFIG));
  assert.is(run.code, 2, run.stderr);
  assert.match(run.stderr, /no source has the pinned bytes/);
  assert.match(run.stderr, /- store: not there/);
  assert.match(run.stderr, /- upstream \(/);
  assert.match(run.stderr, /kiln lock --update/);
  assert.match(run.stderr, /--mirror/);
  assert.not.ok(await readdir(out).catch(() => undefined), 'no output folder');
});

test('(c) kiln build --locked --mirror DIR with apt and the network unreachable', async (ctx) => {
  const out = join(ctx.dir, 'out-c');
  const run = await kiln(['build', ctx.recipe, '--locked', '--out', out, '--mirror', ctx.dead, '--mirror', ctx.vendor, '--debian-snapshot', ctx.dead], env(ctx, 'store-c', ctx.deadApt));
  assert.is(run.code, 0, run.stderr);
  assert.is(await artifact(out), ctx.built);
});

test('(d) an HTTP mirror of the vendored folder through $KILN_MIRRORS', async (ctx) => {
  const mirror = await startFileServer(ctx.vendor);
  try {
    const out = join(ctx.dir, 'out-d');
    const run = await kiln(['build', ctx.recipe, '--locked', '--out', out], env(ctx, 'store-d', ctx.deadApt, { KILN_MIRRORS: `${ctx.dead} ${mirror.url}` }));
    assert.is(run.code, 0, run.stderr);
    assert.is(await artifact(out), ctx.built);
    assert.is(mirror.hits.filter((h) => h.startsWith('/cas/')).length, 2);
  } finally {
    await mirror.close();
  }
});

test('(b) the Debian package from a snapshot service; the url input, which has no snapshot, from the mirror', async (ctx) => {
  const snapshot = await startSnapshotService([{ stamp: '20000101T000000Z', archives: { debian: join(ctx.dir, 'snapshot', 'debian'), 'debian-security': join(ctx.dir, 'snapshot', 'debian-security') } }]);
  // A mirror holding the url input only: the Debian package must come from the snapshot.
  const partial = join(ctx.dir, 'vendor-doc-only');
  await cp(ctx.vendor, partial, { recursive: true });
  const index = JSON.parse(await readFile(join(partial, 'index.json'), 'utf8')) as { blobs: Record<string, { uses: { input?: string }[] }> };
  const fixBlob = Object.keys(index.blobs).find((hex) => index.blobs[hex]!.uses.some((u) => u.input === 'fix'))!;
  await rm(join(partial, 'cas', fixBlob), { force: true });
  const mirror = await startFileServer(partial);
  try {
    const out = join(ctx.dir, 'out-b');
    const run = await kiln(['build', ctx.recipe, '--locked', '--out', out, '--debian-snapshot', snapshot.url], env(ctx, 'store-b', ctx.archive.env.APT_CONFIG, { KILN_MIRRORS: `${mirror.url}` }));
    assert.is(run.code, 0, run.stderr);
    assert.is(await artifact(out), ctx.built);
    assert.ok(snapshot.hits.some((h) => h.startsWith('/archive/debian-security/') && h.endsWith('/pool/main/k/kiln-fix/kiln-fix_1.0-1_amd64.deb')), snapshot.hits.join(' '));
  } finally {
    await snapshot.close();
    await mirror.close();
  }
});

test('kiln rebuild --mirror DIR reproduces the build from its provenance with the archive gone', async (ctx) => {
  const out = join(ctx.dir, 'rebuilt');
  const run = await kiln(
    ['rebuild', join(ctx.dir, 'out-first', 'durable.intoto.jsonl'), '--key', PUB, '--input', `rootfs=${join(ctx.recipe, 'rootfs.tar')}`, '--mirror', ctx.vendor, '--out', out],
    env(ctx, 'store-rebuild', ctx.deadApt),
  );
  assert.is(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /PASSED/);
});

test('kiln vendor --check finds a corrupted blob (exit 1); a bad index is bad input (exit 2)', async (ctx) => {
  const copy = join(ctx.dir, 'vendor-bad');
  await cp(ctx.vendor, copy, { recursive: true });
  const [blob] = (await readdir(join(copy, 'cas'))).sort();
  await chmod(join(copy, 'cas', blob!), 0o644);
  await writeFile(join(copy, 'cas', blob!), 'tampered');
  const run = await kiln(['vendor', '--check', copy], env(ctx, 'store-check', ctx.deadApt));
  assert.is(run.code, 1, run.stderr);
  assert.match(run.stdout, new RegExp(`corrupt  cas/${blob}`));
  await writeFile(join(copy, 'index.json'), '{"kiln":"vendor/v0"}');
  const bad = await kiln(['vendor', '--check', copy], env(ctx, 'store-check', ctx.deadApt));
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /not a kiln vendor index/);
  const usage = await kiln(['vendor', ctx.recipe], env(ctx, 'store-check', ctx.deadApt));
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /exactly one of --out DIR and --check DIR/);
});

test.run();
