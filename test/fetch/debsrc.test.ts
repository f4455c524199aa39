import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { composeSourceTree, debsrcPurl, fetchInput, parseDsc, planSourceUnpack, sourceDirName } from '../../src/fetch/index.js';
import type { DebsrcInputSpec } from '../../src/recipe/types.js';
import { createStore } from '../../src/store/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
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

Parse.run();
Names.run();
Plan.run();
Compose.run();
Fetch.run();
