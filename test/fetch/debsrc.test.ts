import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { mkdir, readFile, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { composeSourceTree, debsrcPurl, fetchInput, parseDsc, planSourceUnpack, sourceDirName } from '../../src/fetch/index.js';
import { MAX_DSC_BYTES } from '../../src/fetch/debsrc.js';
import { parseRecipe } from '../../src/recipe/index.js';
import type { DebsrcInputSpec } from '../../src/recipe/types.js';
import { createStore } from '../../src/store/index.js';
import { makeTempDir, rejectsWithCode, throwsWithCode } from '../helpers/index.js';
import { listBlobs } from '../store/support.js';
import { writeSourcePackage } from './debsrc-fixture.js';
import { sri, where } from './support.js';

const spec = (dsc: string, integrity: string): DebsrcInputSpec => ({ kind: 'debsrc', name: 'hello-src', package: 'hello', version: '1.0-1', dsc, integrity, unpack: false, where });

const Parse = suite('parseDsc');

Parse('reads Source, Version, Format and the Checksums-Sha256 files', () => {
  const dsc = parseDsc(`Format: 3.0 (quilt)\nSource: hello\nVersion: 1:2.10-3\nChecksums-Sha256:\n ${'a'.repeat(64)} 12 hello_2.10.orig.tar.gz\n ${'b'.repeat(64)} 7 hello_2.10-3.debian.tar.xz\n`);
  assert.equal(dsc, {
    source: 'hello',
    version: '1:2.10-3',
    format: '3.0 (quilt)',
    files: [
      { sha256: 'a'.repeat(64), size: 12, name: 'hello_2.10.orig.tar.gz' },
      { sha256: 'b'.repeat(64), size: 7, name: 'hello_2.10-3.debian.tar.xz' },
    ],
  });
});

Parse('reads the signed text of a clear-signed .dsc', () => {
  const text = `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nSource: x\nVersion: 1\nChecksums-Sha256:\n ${'c'.repeat(64)} 1 x_1.tar.gz\n-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n`;
  const dsc = parseDsc(text);
  assert.is(typeof dsc === 'string' ? dsc : dsc.files[0]!.name, 'x_1.tar.gz');
});

Parse('refuses a file name that climbs out of the folder', () => {
  const dsc = parseDsc(`Source: x\nVersion: 1\nChecksums-Sha256:\n ${'c'.repeat(64)} 1 ../../etc/passwd\n`);
  assert.type(dsc, 'string');
});

Parse('refuses a .dsc without Checksums-Sha256', () => {
  assert.type(parseDsc('Source: x\nVersion: 1\n'), 'string');
});

const Names = suite('sourceDirName');

Names('drops the epoch and the Debian revision', () => {
  assert.is(sourceDirName('hello', '1:2.10-3'), 'hello-2.10');
  assert.is(sourceDirName('pkg', '1.0-rc1-2'), 'pkg-1.0-rc1');
  assert.is(debsrcPurl('hello', '1:2.10-3'), 'pkg:deb/debian/hello@1%3A2.10-3?arch=source');
});

const Plan = suite('planSourceUnpack');

Plan('refuses a 1.0 source with a .diff.gz', () => {
  const plan = planSourceUnpack({ source: 'x', version: '1-1', format: '1.0', files: [{ name: 'x_1.orig.tar.gz', sha256: '', size: 0 }, { name: 'x_1-1.diff.gz', sha256: '', size: 0 }] });
  assert.type(plan, 'string');
});

const Compose = suite('composeSourceTree');

Compose('refuses a debian tarball that writes outside debian/', () => {
  const plan = { dir: 'x-1', layers: [{ file: 'o', role: 'base' as const }, { file: 'd', role: 'debian' as const }] };
  const file = { type: 'file' as const, mode: 0o644 as const, digest: `sha256:${'0'.repeat(64)}` as const, size: 0 };
  const got = composeSourceTree(plan, [{ kiln: 'tree/v1', entries: [] }, { kiln: 'tree/v1', entries: [{ path: 'Makefile', ...file }] }]);
  assert.type(got, 'string');
});

const Fetch = suite('fetchInput (debsrc)');

Fetch('unpacks a 3.0 (quilt) source as dpkg-source -x does, each file checked against the .dsc', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const pkg = await writeSourcePackage(dir);
    const store = await createStore({ root: join(dir, 'store') });
    const got = await fetchInput(store, spec(pkg.dscUrl, sri(pkg.dscText)), { recipeDir: dir });
    assert.is(got.uri, 'pkg:deb/debian/hello@1.0-1?arch=source');
    assert.is(got.digest, `sha256:${Buffer.from(sri(pkg.dscText).slice(7), 'base64').toString('hex')}`, 'the digest is the .dsc\'s');
    assert.is(got.mount.kind, 'tree');
    const manifest = await store.readTree(got.mount.kind === 'tree' ? got.mount.tree : (undefined as never));
    const paths = manifest.entries.map((e) => e.path);
    assert.equal(paths, [
      'hello-1.0',
      'hello-1.0/configure',
      'hello-1.0/debian',
      'hello-1.0/debian/control',
      'hello-1.0/debian/rules',
      'hello-1.0/debian/source',
      'hello-1.0/debian/source/format',
      'hello-1.0/hello.c',
    ]);
    const rules = manifest.entries.find((e) => e.path === 'hello-1.0/debian/rules');
    assert.is(rules?.type === 'file' && rules.mode, 0o755);
    if (existsSync('/usr/bin/dpkg-source')) {
      await mkdir(join(dir, 'ref'));
      execFileSync('dpkg-source', ['--no-check', '-x', pkg.dsc, join(dir, 'ref', 'hello-1.0')], { cwd: dir, stdio: 'ignore' });
      const listed = execFileSync('find', ['./hello-1.0'], { cwd: join(dir, 'ref'), encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map((p) => p.slice(2))
        .filter((p) => !p.startsWith('hello-1.0/.pc'))
        .sort();
      assert.equal(listed, [...paths].sort(), 'the same tree as dpkg-source -x');
      for (const entry of manifest.entries) {
        if (entry.type !== 'file') continue;
        assert.equal(await store.readBlob(entry.digest), await readFile(join(dir, 'ref', entry.path)), entry.path);
      }
    }
    const again = await fetchInput(store, spec(pkg.dscUrl, sri(pkg.dscText)), { recipeDir: dir });
    assert.is(again.cached, true);
    assert.equal(again.mount, got.mount);
  } finally {
    await cleanup();
  }
});

Fetch('refuses a tampered .dsc before anything enters the store', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const pkg = await writeSourcePackage(dir);
    const pinned = sri(pkg.dscText);
    await writeFile(pkg.dsc, pkg.dscText.replace('Maintainer: T', 'Maintainer: Mallory'));
    const store = await createStore({ root: join(dir, 'store') });
    await rejectsWithCode(() => fetchInput(store, spec(pkg.dscUrl, pinned), { recipeDir: dir }), 'KILN_FETCH_INTEGRITY');
    assert.equal(await listBlobs(store.root), []);
  } finally {
    await cleanup();
  }
});

Fetch('refuses a tarball that does not match the .dsc checksums, leaving the store empty', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const pkg = await writeSourcePackage(dir);
    const orig = pkg.files['hello_1.0.orig.tar.gz']!;
    const bad = Buffer.from(orig);
    bad[bad.length - 9] ^= 0xff;
    await writeFile(join(dir, 'hello_1.0.orig.tar.gz'), bad);
    const store = await createStore({ root: join(dir, 'store') });
    const err = await rejectsWithCode<{ expected: string }>(() => fetchInput(store, spec(pkg.dscUrl, sri(pkg.dscText)), { recipeDir: dir }), 'KILN_FETCH_INTEGRITY');
    assert.match(err.expected, /^[0-9a-f]{64} \d+$/);
    assert.equal(await listBlobs(store.root), []);
  } finally {
    await cleanup();
  }
});

Fetch('refuses a .dsc for another package', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const pkg = await writeSourcePackage(dir);
    const store = await createStore({ root: join(dir, 'store') });
    await rejectsWithCode(
      () => fetchInput(store, { ...spec(pkg.dscUrl, sri(pkg.dscText)), version: '1.0-2' }, { recipeDir: dir }),
      'KILN_FETCH_DSC',
    );
  } finally {
    await cleanup();
  }
});

const Hostile = suite('fetchInput (debsrc): hostile sources');

type Refusal = Error & { code: string; found?: string; expected?: string; budget?: { name: string; limit: number } };

/** Serves `files` (path → bytes) on 127.0.0.1, chunked: no Content-Length, the limit holds while streaming. */
async function serve(files: Record<string, Buffer | string>): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const body = files[req.url ?? ''];
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'transfer-encoding': 'chunked' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

Hostile('refuses a file URL with a fragment or a query (file:///dev/zero#x.dsc) before reading anything; the schema refuses it too', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: join(dir, 'store') });
    for (const url of ['file:///dev/zero#x.dsc', 'file:///dev/zero?x.dsc']) {
      await rejectsWithCode(() => fetchInput(store, spec(url, sri('x')), { recipeDir: dir }), 'KILN_FETCH_UNSUPPORTED');
    }
    const recipe = (dsc: string) =>
      [
        'kiln: 1', 'name: t', 'sourceDateEpoch: 0',
        `inputs: { s: { debsrc: hello=1.0-1, dsc: "${dsc}", integrity: "${sri('x')}" } }`,
        `images: { b: { oci: "r.example/b@sha256:${'0'.repeat(64)}" } }`,
        'steps: { x: { image: b, inputs: [s], run: "true" } }', 'artifacts: [{ from: x, path: y }]', '',
      ].join('\n');
    parseRecipe(recipe('file:///srv/x.dsc'), 'kiln.yaml');
    const err = throwsWithCode<Refusal & { where?: { line?: number } }>(() => parseRecipe(recipe('file:///dev/zero#x.dsc'), 'kiln.yaml'), 'KILN_RECIPE_INVALID');
    assert.is(err.where?.line, 4);
    assert.equal(await listBlobs(store.root), []);
  } finally {
    await cleanup();
  }
});

Hostile('refuses a .dsc that is not a regular file (a link to /dev/zero)', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await symlink('/dev/zero', join(dir, 'zero.dsc'));
    const store = await createStore({ root: join(dir, 'store') });
    await rejectsWithCode(() => fetchInput(store, spec(`file://${join(dir, 'zero.dsc')}`, sri('x')), { recipeDir: dir }), 'KILN_FETCH_UNSUPPORTED');
  } finally {
    await cleanup();
  }
});

Hostile('refuses a .dsc past maxDscBytes, local (unread, size not echoed) or served without a length', async () => {
  const { dir, cleanup } = await makeTempDir();
  const big = `Source: hello\n${' '.repeat(MAX_DSC_BYTES)}`;
  const server = await serve({ '/big.dsc': big });
  try {
    await writeFile(join(dir, 'big.dsc'), big);
    const store = await createStore({ root: join(dir, 'store') });
    const local = await rejectsWithCode<Refusal>(() => fetchInput(store, spec(`file://${join(dir, 'big.dsc')}`, sri(big)), { recipeDir: dir }), 'KILN_FETCH_TOO_LARGE');
    assert.equal(local.budget, { name: 'maxDscBytes', limit: MAX_DSC_BYTES });
    assert.is(local.found, undefined);
    const remote = await rejectsWithCode<Refusal>(() => fetchInput(store, spec(`${server.url}/big.dsc`, sri(big)), { recipeDir: dir }), 'KILN_FETCH_TOO_LARGE');
    assert.is(remote.budget?.name, 'maxDscBytes');
    assert.equal(await listBlobs(store.root), []);
  } finally {
    await server.close();
    await cleanup();
  }
});

Hostile('checks a listed file\'s size before reading it: a 64 GiB sparse file is refused at once', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const pkg = await writeSourcePackage(dir);
    // Sparse: no disk used; reading it would take minutes, sizing it takes a stat.
    await truncate(join(dir, 'hello_1.0.orig.tar.gz'), 64 * 1024 ** 3);
    const store = await createStore({ root: join(dir, 'store') });
    const err = await rejectsWithCode<Refusal>(() => fetchInput(store, spec(pkg.dscUrl, sri(pkg.dscText)), { recipeDir: dir }), 'KILN_FETCH_INTEGRITY');
    assert.match(err.message, /hello_1\.0\.orig\.tar\.gz is larger than the \.dsc/);
    assert.is(err.found, undefined, 'a local file\'s size is not echoed');
    assert.equal(await listBlobs(store.root), []);
  } finally {
    await cleanup();
  }
});

Hostile('stops a served file at its listed size when the server sends more', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const pkg = await writeSourcePackage(dir);
    const orig = pkg.files['hello_1.0.orig.tar.gz']!;
    const server = await serve({ '/hello_1.0-1.dsc': pkg.dscText, '/hello_1.0.orig.tar.gz': Buffer.concat([orig, Buffer.alloc(4 * 1024 * 1024)]), '/hello_1.0-1.debian.tar.xz': pkg.files['hello_1.0-1.debian.tar.xz']! });
    try {
      const store = await createStore({ root: join(dir, 'store') });
      const err = await rejectsWithCode<Refusal>(() => fetchInput(store, spec(`${server.url}/hello_1.0-1.dsc`, sri(pkg.dscText)), { recipeDir: dir }), 'KILN_FETCH_INTEGRITY');
      assert.is(err.expected, `${orig.length} bytes`);
      assert.equal(await listBlobs(store.root), []);
    } finally {
      await server.close();
    }
  } finally {
    await cleanup();
  }
});

Hostile('the integrity error of a local .dsc or listed file names no digest of the local file; a served one does', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const pkg = await writeSourcePackage(dir);
    const store = await createStore({ root: join(dir, 'store') });
    // A recipe pinning anything at all against a local file: the error must not tell what the file hashes to.
    const local = await rejectsWithCode<Refusal>(() => fetchInput(store, spec(pkg.dscUrl, sri('a guess')), { recipeDir: dir }), 'KILN_FETCH_INTEGRITY');
    const digest = sri(pkg.dscText);
    assert.is(local.found, undefined);
    assert.not.ok(JSON.stringify({ ...local, message: local.message }).includes(digest.slice(7)), 'the digest appears nowhere');
    const server = await serve({ '/hello_1.0-1.dsc': pkg.dscText });
    try {
      const remote = await rejectsWithCode<Refusal>(() => fetchInput(store, spec(`${server.url}/hello_1.0-1.dsc`, sri('a guess')), { recipeDir: dir }), 'KILN_FETCH_INTEGRITY');
      assert.is(remote.found, digest);
    } finally {
      await server.close();
    }
  } finally {
    await cleanup();
  }
});

Hostile('refuses file: sources where they are not allowed (a rebuild), whatever the store holds; git file:// too', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const pkg = await writeSourcePackage(dir);
    const store = await createStore({ root: join(dir, 'store') });
    await fetchInput(store, spec(pkg.dscUrl, sri(pkg.dscText)), { recipeDir: dir });
    await rejectsWithCode(() => fetchInput(store, spec(pkg.dscUrl, sri(pkg.dscText)), { recipeDir: dir, allowFileUrls: false }), 'KILN_FETCH_LOCAL_SOURCE');
    const git = { kind: 'git' as const, name: 'tool', url: `file://${dir}/repo.git`, commit: 'a'.repeat(40), integrity: sri('x'), unpack: false, where };
    await rejectsWithCode(() => fetchInput(store, git, { recipeDir: dir, allowFileUrls: false }), 'KILN_FETCH_LOCAL_SOURCE');
  } finally {
    await cleanup();
  }
});

Parse.run();
Names.run();
Plan.run();
Compose.run();
Fetch.run();
Hostile.run();
