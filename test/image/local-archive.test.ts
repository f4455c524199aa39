import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fetchInput, pinSha256, type Sources } from '../../src/fetch/index.js';
import { resolveSources } from '../../src/fetch/index.js';
import { fetchDebianPackages } from '../../src/image/index.js';
import { loadBuildRecipe, lockRecipe, type Lock } from '../../src/lock/index.js';
import type { DebianPackagePin, DebInputSpec, Recipe } from '../../src/recipe/index.js';
import { createStore, type LocalStore } from '../../src/store/index.js';
import { vendorRecipe } from '../../src/vendor/index.js';
import { deadUrl, startFileServer, startLocalArchive, startLyingServer, startSnapshotService, writeAptConfig, type LocalArchive, type TestDeb } from '../helpers/apt-repo.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { listBlobs, listTemps } from '../store/support.js';

// Durability of Debian pins, tested against a local archive on 127.0.0.1 rather than the live
// archive's history: lock against it, keep a snapshot-layout copy and a `kiln vendor` folder,
// then move the archive to newer versions (the old files gone, as Debian's security suite does
// at once) and fetch in fresh stores. The packages are tiny .debs made here; assembling a real
// image from a vendored folder is tested in test/image/debian-build.test.ts.

const REQUIRED = ['base-files', 'base-passwd', 'coreutils', 'dash', 'dpkg', 'libc6'].map((p): TestDeb => ({ package: p, version: '1.0', priority: 'required' }));
const OLD: TestDeb[] = [...REQUIRED, { package: 'kiln-hello', version: '1.0-1' }, { package: 'kiln-fix', version: '1.0-1', archive: 'debian-security' }];
const NEW: TestDeb[] = [...REQUIRED, { package: 'kiln-hello', version: '1.0-2' }, { package: 'kiln-fix', version: '1.0-2', archive: 'debian-security' }];
const LOCKED_AT = new Date('2025-06-01T12:00:00Z');

const RECIPE = `kiln: 1
name: durable
sourceDateEpoch: 0
inputs:
  fix:
    deb: kiln-fix=1.0-1
images:
  tiny:
    debian:
      packages: [kiln-hello, kiln-fix]
steps:
  s:
    image: tiny
    run: "true"
artifacts:
  - from: s
    path: x
`;

interface World {
  dir: string;
  cleanup: () => Promise<void>;
  archive: LocalArchive;
  lock: Lock;
  relocked: Lock;
  recipe: Recipe;
  pins: DebianPackagePin[];
  fix: DebInputSpec;
  vendor: string;
  snapshotRoot: string;
  deadApt: { APT_CONFIG: string };
  dead: string;
}

const test = suite<{ w: World }>('durable Debian pins (local archive)');

test.before(async (ctx) => {
  const { dir, cleanup } = await makeTempDir();
  const archive = await startLocalArchive(join(dir, 'a'), OLD);
  process.env.APT_CONFIG = archive.env.APT_CONFIG;
  const recipeDir = join(dir, 'recipe');
  await cp(join(dir, 'a', 'archive'), join(dir, 'snapshot'), { recursive: true });
  await writeFile(join(dir, 'kiln.yaml'), RECIPE);
  await cp(join(dir, 'kiln.yaml'), join(recipeDir, 'kiln.yaml'), { recursive: true });
  const locked = await lockRecipe(recipeDir, { store: await createStore({ root: join(dir, 'store-lock') }), now: LOCKED_AT });
  // Resolved again a day later, unchanged: the pins keep the time they were first seen at.
  const relocked = await lockRecipe(recipeDir, { store: await createStore({ root: join(dir, 'store-lock') }), now: new Date('2025-06-02T12:00:00Z'), update: true });
  const vendor = join(dir, 'vendor');
  await vendorRecipe({ recipe: recipeDir, out: vendor, store: await createStore({ root: join(dir, 'store-vendor') }) });
  // The archive moves on: 1.0-1 is gone from both archives.
  await archive.publish(NEW);
  const recipe = await loadBuildRecipe(recipeDir, { locked: true });
  const image = recipe.images.tiny!;
  const dead = await deadUrl();
  const deadApt = await writeAptConfig(join(dir, 'dead-apt'), `deb [trusted=yes] ${dead}debian stable main\n`);
  ctx.w = {
    dir, cleanup, archive, lock: locked.lock, relocked: relocked.lock, recipe,
    pins: image.kind === 'debian' ? image.pins : [],
    fix: recipe.inputs.fix as DebInputSpec,
    vendor, snapshotRoot: join(dir, 'snapshot'), deadApt, dead,
  };
});

test.after(async ({ w }) => {
  await w.archive.close();
  await w.cleanup();
});

let stores = 0;
const freshStore = async (w: World): Promise<{ store: LocalStore; root: string }> => {
  const root = join(w.dir, `store-${++stores}`);
  return { store: await createStore({ root }), root };
};
const withApt = async <T>(env: { APT_CONFIG: string }, fn: () => Promise<T>): Promise<T> => {
  const saved = process.env.APT_CONFIG;
  process.env.APT_CONFIG = env.APT_CONFIG;
  try {
    return await fn();
  } finally {
    process.env.APT_CONFIG = saved;
  }
};
const hexOf = (pin: { integrity: string }) => pinSha256(pin)!;

test('kiln lock records where the snapshot archive keeps each file: archive name, pool path, time; never a host', async ({ w }) => {
  const hello = w.pins.find((p) => p.package === 'kiln-hello')!;
  const fixPin = w.pins.find((p) => p.package === 'kiln-fix')!;
  assert.equal(hello.snapshot, { archive: 'debian', path: 'pool/main/k/kiln-hello/kiln-hello_1.0-1_amd64.deb', resolved: '2025-06-01T12:00:00Z' });
  // Security updates live in another archive of the snapshot service than the main suites.
  assert.equal(fixPin.snapshot, { archive: 'debian-security', path: 'pool/main/k/kiln-fix/kiln-fix_1.0-1_amd64.deb', resolved: '2025-06-01T12:00:00Z' });
  assert.equal(w.fix.snapshot, fixPin.snapshot);
  const text = await readFile(join(w.dir, 'recipe', 'kiln.lock'), 'utf8');
  assert.not.ok(text.includes('127.0.0.1'), 'the lock names no host');
  assert.equal(w.relocked, w.lock, '`kiln lock --update` a day later changes nothing while the archive is unchanged');
});

test('(a) the archive dropped the version: a fresh store fails naming every source tried and what to do; nothing wrong or half-written is left', async ({ w }) => {
  const { store, root } = await freshStore(w);
  const err = await rejectsWithCode<Error & { hint: string }>(() => fetchDebianPackages(store, w.pins, { image: 'tiny' }), 'KILN_IMAGE_APT');
  assert.match(err.message, /no source has 2 of the 8 pinned packages of image "tiny"/);
  assert.match(err.message, /kiln-hello:amd64=1\.0-1/);
  assert.match(err.message, /- store: not there/);
  assert.match(err.message, /- apt-get download: .*1\.0-1.*not found/);
  assert.match(err.hint, /kiln lock --update tiny/);
  assert.match(err.hint, /--mirror/);
  assert.match(err.hint, /--debian-snapshot/);
  assert.equal(await listTemps(root), []);
  for (const pin of w.pins.filter((p) => p.package.startsWith('kiln-'))) assert.is(await store.getRef('integrity', pin.integrity), undefined);
  const blobs = await listBlobs(root);
  assert.not.ok(blobs.some((b) => b.endsWith(hexOf(w.pins.find((p) => p.package === 'kiln-hello')!).slice(2))), 'no blob of a missing pin');
  assert.equal((await store.maintenance.verify()).corrupt, []);

  const input = await rejectsWithCode<Error & { sources: { source: string }[] }>(() => fetchInput(store, w.fix, { recipeDir: w.dir }), 'KILN_FETCH_APT');
  assert.equal(input.sources.map((s) => s.source), ['store', 'upstream (apt: kiln-fix:amd64=1.0-1)']);
});

test('(b) a snapshot-layout server on 127.0.0.1 serves the old files, asked at the lock\'s time, in the right archive', async ({ w }) => {
  const snapshot = await startSnapshotService([{ stamp: '20250601T000000Z', archives: { debian: join(w.snapshotRoot, 'debian'), 'debian-security': join(w.snapshotRoot, 'debian-security') } }]);
  try {
    const { store } = await freshStore(w);
    const sources: Sources = resolveSources({ debianSnapshot: snapshot.url }, {});
    const debs = await fetchDebianPackages(store, w.pins, { sources });
    assert.equal(debs.map((d) => d.digest), w.pins.map((p) => `sha256:${hexOf(p)}`));
    assert.ok(snapshot.hits.includes('/archive/debian/20250601T120000Z/pool/main/k/kiln-hello/kiln-hello_1.0-1_amd64.deb'));
    assert.ok(snapshot.hits.includes('/archive/debian-security/20250601T120000Z/pool/main/k/kiln-fix/kiln-fix_1.0-1_amd64.deb'));
    assert.is(snapshot.hits.filter((h) => h.includes('/base-files')).length, 0, 'what apt still has comes from apt');
    const fix = await fetchInput(store, w.fix, { recipeDir: w.dir, sources });
    assert.is(fix.digest, `sha256:${hexOf(w.fix)}`);
  } finally {
    await snapshot.close();
  }
});

test('(b) a file published after the snapshot before the lock\'s time is found in the snapshot a day later', async ({ w }) => {
  const snapshot = await startSnapshotService([{ stamp: '20250601T180000Z', archives: { debian: join(w.snapshotRoot, 'debian'), 'debian-security': join(w.snapshotRoot, 'debian-security') } }]);
  try {
    const { store } = await freshStore(w);
    const fix = await fetchInput(store, w.fix, { recipeDir: w.dir, sources: resolveSources({ debianSnapshot: snapshot.url }, {}) });
    assert.is(fix.digest, `sha256:${hexOf(w.fix)}`);
    assert.equal(snapshot.hits, [
      '/archive/debian-security/20250601T120000Z/pool/main/k/kiln-fix/kiln-fix_1.0-1_amd64.deb',
      '/archive/debian-security/20250602T120000Z/pool/main/k/kiln-fix/kiln-fix_1.0-1_amd64.deb',
    ]);
  } finally {
    await snapshot.close();
  }
});

test('(c) a kiln vendor folder alone suffices: apt, an HTTP mirror and the snapshot service all unreachable', async ({ w }) => {
  const { store } = await freshStore(w);
  const sources = resolveSources({ mirrors: [w.dead, w.vendor], debianSnapshot: w.dead }, {});
  await withApt(w.deadApt, async () => {
    const debs = await fetchDebianPackages(store, w.pins, { sources });
    assert.equal(debs.map((d) => d.digest), w.pins.map((p) => `sha256:${hexOf(p)}`));
    const fix = await fetchInput(store, w.fix, { recipeDir: w.dir, sources });
    assert.is(fix.digest, `sha256:${hexOf(w.fix)}`);
  });
  const index = JSON.parse(await readFile(join(w.vendor, 'index.json'), 'utf8')) as { kiln: string; blobs: Record<string, { size: number; integrity: string; uses: { image?: string; input?: string; ref: string }[] }> };
  assert.is(index.kiln, 'vendor/v1');
  const hello = index.blobs[hexOf(w.pins.find((p) => p.package === 'kiln-hello')!)]!;
  assert.equal(hello.uses, [{ recipe: 'durable', image: 'tiny', kind: 'deb', ref: 'kiln-hello=1.0-1:amd64' }]);
  assert.match(hello.integrity, /^sha256-\S+ sha512-\S+$/);
  // kiln-fix is both the `fix` input and a package of the image: one blob, two uses.
  assert.is(index.blobs[hexOf(w.fix)]!.uses.length, 2);
});

test('(d) an HTTP mirror serving the vendored folder (cas/<sha256>); a mirror serving wrong bytes is refused and the next one tried', async ({ w }) => {
  const mirror = await startFileServer(w.vendor);
  const liar = await startLyingServer('not the package you pinned');
  try {
    const { store, root } = await freshStore(w);
    const sources = resolveSources({ mirrors: [liar.url, mirror.url] }, {});
    await withApt(w.deadApt, async () => {
      const debs = await fetchDebianPackages(store, w.pins, { sources });
      assert.equal(debs.map((d) => d.digest), w.pins.map((p) => `sha256:${hexOf(p)}`));
    });
    assert.is(liar.hits.length, w.pins.length, 'every package was asked of the lying mirror first');
    assert.ok(mirror.hits.includes(`/cas/${hexOf(w.pins[0]!)}`));
    assert.equal(await listTemps(root), []);
    assert.equal((await store.maintenance.verify()).corrupt, []);

    // Only the liar: the failure says it was refused for integrity.
    const { store: other, root: otherRoot } = await freshStore(w);
    const err = await withApt(w.deadApt, () =>
      rejectsWithCode<Error & { sources: { source: string; reason: string }[] }>(() => fetchInput(other, w.fix, { recipeDir: w.dir, sources: resolveSources({ mirrors: [liar.url] }, {}) }), 'KILN_FETCH_APT'),
    );
    assert.is(err.sources[1]!.source, `mirror ${liar.url}`);
    assert.match(err.sources[1]!.reason, /refused: the bytes do not match the pin/);
    assert.equal(await listBlobs(otherRoot), [], 'the wrong bytes never entered the store');
  } finally {
    await mirror.close();
    await liar.close();
  }
});

test.run();
