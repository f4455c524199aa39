import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  fetchInput,
  mirrorLocations,
  parseLocation,
  pinSha256,
  resolveSources,
  snapshotLocations,
  snapshotRefFromUri,
  snapshotRefProblem,
} from '../../src/fetch/index.js';
import type { DebInputSpec, DebsrcInputSpec, GitInputSpec, NpmInputSpec } from '../../src/recipe/types.js';
import { createStore } from '../../src/store/index.js';
import { vendorRecipe } from '../../src/vendor/index.js';
import { deadUrl, startFileServer, startLyingServer } from '../helpers/apt-repo.js';
import { makeTempDir, rejectsWithCode, throwsWithCode } from '../helpers/index.js';
import { listBlobs, listTemps } from '../store/support.js';
import { writeSourcePackage } from './debsrc-fixture.js';
import { makeRepo } from './git-repo.js';
import { npmTarball, useRegistry } from './npm-registry.js';
import { sri, startServer, urlSpec, where } from './support.js';

const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

const Locations = suite('parseLocation / resolveSources');

Locations('a folder, a file: URL and an http base; credentials never reach the label', () => {
  assert.equal(parseLocation('vendor', '--mirror', '/r'), { kind: 'file', path: '/r/vendor', label: '/r/vendor' });
  assert.equal(parseLocation('file:///srv/v', '--mirror'), { kind: 'file', path: '/srv/v', label: '/srv/v' });
  const http = parseLocation('https://u:secret@cache.example.org/kiln', '--mirror');
  assert.ok(http.kind === 'http' && http.url.href === 'https://u:secret@cache.example.org/kiln/', 'the base is a folder');
  assert.is(http.label, 'https://cache.example.org/kiln/');
});

Locations('refuses other schemes and a base with a query', () => {
  throwsWithCode(() => parseLocation('ftp://example.org/x', '--mirror'), 'KILN_USAGE');
  throwsWithCode(() => parseLocation('https://example.org/x?y=1', '--mirror'), 'KILN_USAGE');
  throwsWithCode(() => parseLocation(' ', '--mirror'), 'KILN_USAGE');
});

Locations('--mirror values first, then $KILN_MIRRORS; --debian-snapshot over $KILN_DEBIAN_SNAPSHOT', () => {
  const env = { KILN_MIRRORS: ' https://a.example.org/  /b\n', KILN_DEBIAN_SNAPSHOT: 'https://snap.example.org/' };
  const s = resolveSources({ mirrors: ['/c'] }, env, '/r');
  assert.equal(s.mirrors.map((m) => m.label), ['/c', 'https://a.example.org/', '/b']);
  assert.is(s.debianSnapshot?.label, 'https://snap.example.org/');
  assert.is(resolveSources({ debianSnapshot: '/s' }, env).debianSnapshot?.label, '/s');
  assert.equal(resolveSources({}, {}), { mirrors: [] });
});

Locations('a mirror keeps a blob at cas/<hex>; a folder may also be a kiln store', () => {
  const hex = 'ab'.padEnd(64, '0');
  assert.equal(mirrorLocations(parseLocation('https://c.example.org/x', 'm'), hex).map((l) => l.label), [`https://c.example.org/x/cas/${hex}`]);
  assert.equal(mirrorLocations(parseLocation('/v', 'm'), hex).map((l) => l.label), [`/v/cas/${hex}`, `/v/v1/cas/sha256/ab/${hex.slice(2)}`]);
});

const Snapshot = suite('snapshot coordinates');

Snapshot('from apt\'s URI: the archive is the repository\'s last component, the path decoded from pool/, no host', () => {
  const t = '2025-06-01T12:00:00Z';
  assert.equal(snapshotRefFromUri('http://deb.example.org/debian-security/pool/updates/main/l/linux/linux-libc-dev_6.1.192-3_amd64.deb', t), {
    archive: 'debian-security',
    path: 'pool/updates/main/l/linux/linux-libc-dev_6.1.192-3_amd64.deb',
    resolved: t,
  });
  assert.is(snapshotRefFromUri('http://h.example.org/debian/pool/main/g/gcc-12/libstdc%2b%2b6_12.2.0-14%2bdeb12u1_amd64.deb', t)?.path, 'pool/main/g/gcc-12/libstdc++6_12.2.0-14+deb12u1_amd64.deb');
  // apt already pointed at a snapshot: the archive's name, not the timestamp.
  assert.is(snapshotRefFromUri('http://snap.example.org/archive/debian/20250520T000000Z/pool/main/h/hello/hello_2.10-3_amd64.deb', t)?.archive, 'debian');
  assert.is(snapshotRefFromUri('http://h.example.org/flat/./hello_2.10-3_amd64.deb', t), undefined, 'a flat repository has no pool');
  assert.is(snapshotRefFromUri('http://h.example.org/debian/pool/main/h/../../../etc/passwd', t), undefined);
});

Snapshot('refuses coordinates that would climb out of the archive or are not a time', () => {
  assert.ok(snapshotRefProblem({ archive: 'debian', path: 'pool/main/../../x.deb', resolved: '2025-06-01T12:00:00Z' }));
  assert.ok(snapshotRefProblem({ archive: '../debian', path: 'pool/main/h/x.deb', resolved: '2025-06-01T12:00:00Z' }));
  assert.ok(snapshotRefProblem({ archive: 'debian', path: 'pool/main/h/x.deb', resolved: 'yesterday' }));
  assert.is(snapshotRefProblem({ archive: 'debian', path: 'pool/main/h/x.deb', resolved: '2025-06-01T12:00:00Z' }), undefined);
});

Snapshot('asks at the lock\'s time, then a day later when that is past', () => {
  const ref = { archive: 'debian-security', path: 'pool/main/k/k/k_1_amd64.deb', resolved: '2025-06-01T12:00:00Z' };
  const base = parseLocation('https://snap.example.org/', 'm');
  assert.equal(snapshotLocations(base, ref, new Date('2026-01-01T00:00:00Z')).map((l) => l.label), [
    'https://snap.example.org/archive/debian-security/20250601T120000Z/pool/main/k/k/k_1_amd64.deb',
    'https://snap.example.org/archive/debian-security/20250602T120000Z/pool/main/k/k/k_1_amd64.deb',
  ]);
  assert.is(snapshotLocations(base, ref, new Date('2025-06-01T13:00:00Z')).length, 1);
});

const Keys = suite('pinSha256');

Keys('the SRI\'s sha256, else the sha256 the lock recorded beside a sha512 pin', () => {
  const hex = sha256('x');
  assert.is(pinSha256({ integrity: sri('x') }), hex);
  assert.is(pinSha256({ integrity: `${sri('x', 'sha512')} ${sri('x')}` }), hex);
  assert.is(pinSha256({ integrity: sri('x', 'sha512') }), undefined);
  assert.is(pinSha256({ integrity: sri('x', 'sha512'), sha256: hex }), hex);
});

const Mirrors = suite('fetchInput from mirrors');

Mirrors('a url input whose upstream is gone comes from an HTTP mirror; a size the pin knows is enforced', async () => {
  const { dir, cleanup } = await makeTempDir();
  const body = 'the pinned bytes\n';
  await mkdir(join(dir, 'mirror', 'cas'), { recursive: true });
  await writeFile(join(dir, 'mirror', 'cas', sha256(body)), body);
  const upstream = await startServer({});
  const mirror = await startFileServer(join(dir, 'mirror'));
  try {
    const store = await createStore({ root: join(dir, 'store') });
    const spec = urlSpec('src', `${upstream.url}/gone.tar`, sri(body));
    const got = await fetchInput(store, spec, { recipeDir: dir, sources: resolveSources({ mirrors: [mirror.url] }, {}) });
    assert.is(got.digest, `sha256:${sha256(body)}`);
    assert.equal(upstream.hits, [], 'the mirror came first');
  } finally {
    await upstream.close();
    await mirror.close();
    await cleanup();
  }
});

Mirrors('a Debian package from a mirror that sends more bytes than the pin\'s size is refused while streaming', async () => {
  const { dir, cleanup } = await makeTempDir();
  const liar = await startLyingServer(Buffer.alloc(1 << 20, 1));
  try {
    const store = await createStore({ root: join(dir, 'store') });
    const { fetchDebianPackages } = await import('../../src/image/index.js');
    const pin = { package: 'kiln-x', version: '1', arch: 'amd64', integrity: sri('tiny'), size: 4, required: false };
    const saved = process.env.APT_CONFIG;
    process.env.APT_CONFIG = '/nonexistent/apt.conf';
    try {
      const err = await rejectsWithCode<Error>(() => fetchDebianPackages(store, [pin], { sources: resolveSources({ mirrors: [liar.url] }, {}) }), 'KILN_IMAGE_APT');
      assert.match(err.message, /refused: sent more than the pinned 4 bytes|announced \d+ bytes, the pin says 4/);
    } finally {
      process.env.APT_CONFIG = saved;
    }
    assert.equal(await listBlobs(join(dir, 'store')), []);
    assert.equal(await listTemps(join(dir, 'store')), []);
  } finally {
    await liar.close();
    await cleanup();
  }
});

Mirrors('an npm pin (sha512) is found by the sha256 the lock recorded; without one the failure says how to get it', async () => {
  const { dir, cleanup } = await makeTempDir();
  const tgz = await npmTarball('left-pad', '1.3.0');
  await mkdir(join(dir, 'mirror', 'cas'), { recursive: true });
  await writeFile(join(dir, 'mirror', 'cas', sha256(tgz)), tgz);
  const restore = useRegistry((await deadUrl()).replace(/\/$/, ''), dir);
  try {
    const store = await createStore({ root: join(dir, 'store') });
    const spec: NpmInputSpec = { kind: 'npm', name: 'left-pad', package: 'left-pad', version: '1.3.0', integrity: sri(tgz, 'sha512'), unpack: false, where };
    const sources = resolveSources({ mirrors: [join(dir, 'mirror')] }, {});
    const err = await rejectsWithCode<{ sources: { reason: string }[] }>(() => fetchInput(store, spec, { recipeDir: dir, sources }), 'KILN_FETCH_NPM');
    assert.match(err.sources[1]!.reason, /kiln lock --update left-pad/);
    const got = await fetchInput(store, { ...spec, sha256: sha256(tgz) }, { recipeDir: dir, sources });
    assert.is(got.digest, `sha256:${sha256(tgz)}`);
  } finally {
    restore();
    await cleanup();
  }
});

Mirrors('a git input and a source package come back from a kiln vendor folder once their upstreams are gone', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const { url, first } = await makeRepo(dir);
    const pkg = join(dir, 'pkg');
    await mkdir(pkg);
    const source = await writeSourcePackage(pkg);
    const recipeDir = join(dir, 'recipe');
    await mkdir(recipeDir);
    await writeFile(
      join(recipeDir, 'kiln.yaml'),
      `kiln: 1\nname: v\nsourceDateEpoch: 0\ninputs:\n  tool:\n    git: ${url}\n    commit: "${first}"\n  src:\n    debsrc: hello=1.0-1\n    dsc: ${source.dscUrl}\n    integrity: ${sri(source.dscText)}\nimages:\n  i: { oci: "example.org/i@sha256:${'a'.repeat(64)}" }\nsteps:\n  s: { image: i, inputs: [tool, src], run: "true" }\nartifacts: [{ from: s, path: x }]\n`,
    );
    const { lockRecipe, loadBuildRecipe } = await import('../../src/lock/index.js');
    await lockRecipe(recipeDir, { store: await createStore({ root: join(dir, 'store-lock') }) });
    const vendor = join(dir, 'vendor');
    const result = await vendorRecipe({ recipe: recipeDir, out: vendor, store: await createStore({ root: join(dir, 'store-lock') }) });
    assert.ok(result.blobs >= 6, `${result.blobs} blobs: the tree manifest and its files, the .dsc and its two files`);
    await rm(join(dir, 'repo'), { recursive: true, force: true });
    await rm(pkg, { recursive: true, force: true });
    const recipe = await loadBuildRecipe(recipeDir, { locked: true });
    const store = await createStore({ root: join(dir, 'store-fresh') });
    const sources = resolveSources({ mirrors: [vendor] }, {});
    const tool = await fetchInput(store, recipe.inputs.tool as GitInputSpec, { recipeDir, sources });
    assert.is(tool.mount.kind, 'tree');
    const tree = await store.readTree(tool.digest);
    assert.ok(tree.entries.some((e) => e.path === 'src/a.txt'));
    const src = await fetchInput(store, recipe.inputs.src as DebsrcInputSpec, { recipeDir, sources });
    assert.ok(src.mount.kind === 'tree' && (await store.readTree(src.mount.tree)).entries.some((e) => e.path === 'hello-1.0/hello.c'));
    // Without the folder, the same fetch fails and names the upstream.
    const none = await createStore({ root: join(dir, 'store-none') });
    await rejectsWithCode(() => fetchInput(none, recipe.inputs.tool as GitInputSpec, { recipeDir }), 'KILN_FETCH_GIT');
  } finally {
    await cleanup();
  }
});

Mirrors('a kiln store\'s root serves as a file: mirror', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const other = await createStore({ root: join(dir, 'other') });
    const body = 'in another store\n';
    await other.putBytes(body);
    const store = await createStore({ root: join(dir, 'store') });
    const spec: DebInputSpec = { kind: 'deb', name: 'x', package: 'kiln-none', version: '1', arch: 'amd64', integrity: sri(body), unpack: false, where };
    const got = await fetchInput(store, spec, { recipeDir: dir, sources: resolveSources({ mirrors: [`file://${join(dir, 'other')}`] }, {}) });
    assert.is(got.digest, `sha256:${sha256(body)}`);
  } finally {
    await cleanup();
  }
});

Locations.run();
Snapshot.run();
Keys.run();
Mirrors.run();
