import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { detectArchiveFormat } from '../../src/archive/format.js';
import type { ArchiveError } from '../../src/archive/errors.js';
import { unpackArchive } from '../../src/archive/unpack.js';
import { sha256Digest } from '../../src/util/digest.js';
import { buildAr, buildDeb, buildTar, buildZip, compressWith, gzip, tempEntries } from '../helpers/archives.js';
import { rejectsWithCode } from '../helpers/index.js';
import { createMemoryStore } from '../helpers/memory-store.js';

const payload = () =>
  buildTar([
    { name: './', type: 'directory' },
    { name: './pkg/', type: 'directory' },
    { name: './pkg/bin/run', body: '#!/bin/sh\necho hi\n', mode: 0o755 },
    { name: './pkg/README', body: 'readme' },
    { name: './pkg/bin/alias', type: 'symlink', linkname: 'run' },
  ]);

const expectedEntries = [
  { path: 'pkg', type: 'dir' },
  { path: 'pkg/README', type: 'file', mode: 0o644, digest: sha256Digest('readme'), size: 6 },
  { path: 'pkg/bin', type: 'dir' },
  { path: 'pkg/bin/alias', type: 'symlink', target: 'run' },
  { path: 'pkg/bin/run', type: 'file', mode: 0o755, digest: sha256Digest('#!/bin/sh\necho hi\n'), size: 18 },
];

const detectArchiveFormatSuite = suite('detectArchiveFormat');

detectArchiveFormatSuite('recognizes each format by its magic bytes', async () => {
  const tar = await payload();
  assert.is(detectArchiveFormat(tar), 'tar');
  assert.is(detectArchiveFormat(gzip(tar)), 'tar.gz');
  assert.is(detectArchiveFormat(await compressWith('xz', tar)), 'tar.xz');
  assert.is(detectArchiveFormat(await compressWith('bzip2', tar)), 'tar.bz2');
  assert.is(detectArchiveFormat(buildZip([{ name: 'a', body: 'a' }])), 'zip');
  assert.is(detectArchiveFormat(buildAr([{ name: 'debian-binary', body: '2.0\n' }])), 'deb');
});

detectArchiveFormatSuite('returns undefined for other bytes and for short heads', () => {
  assert.is(detectArchiveFormat(Buffer.from('just some text, not an archive')), undefined);
  assert.is(detectArchiveFormat(Buffer.alloc(0)), undefined);
  assert.is(detectArchiveFormat(Buffer.alloc(1024)), undefined);
});

const unpackArchiveSuite = suite('unpackArchive');

async function unpackBytes(bytes: Buffer, label = 'src') {
  const store = createMemoryStore();
  const { digest } = await store.putBytes(bytes);
  return { store, tree: await unpackArchive(store, digest, { label }) };
}

for (const [format, make] of [
  ['tar', async (t: Buffer) => t],
  ['tar.gz', async (t: Buffer) => gzip(t)],
  ['tar.xz', (t: Buffer) => compressWith('xz', t)],
  ['tar.bz2', (t: Buffer) => compressWith('bzip2', t)],
] as const) {
  unpackArchiveSuite(`unpacks a ${format} to the expected manifest`, async () => {
    const { store, tree } = await unpackBytes(await make(await payload()));
    assert.equal(tree.manifest.entries, expectedEntries);
    assert.ok(store.trees.has(tree.digest));
  });
}

unpackArchiveSuite('unpacks a zip with folders, exec bits and symlinks', async () => {
  const zip = buildZip([
    { name: 'pkg/', unixMode: 0o040755 },
    { name: 'pkg/bin/run', body: '#!/bin/sh\necho hi\n', unixMode: 0o100755 },
    { name: 'pkg/README', body: 'readme' },
    { name: 'pkg/bin/alias', body: 'run', unixMode: 0o120777 },
  ]);
  const spillsBefore = await tempEntries('kiln-zip-');
  const { tree } = await unpackBytes(zip);
  assert.equal(tree.manifest.entries, expectedEntries);
  assert.equal(await tempEntries('kiln-zip-'), spillsBefore, 'the temp copy of the zip is removed');
});

for (const name of ['../evil', '/tmp/evil', 'a/../../evil', '..\\evil', 'C:/evil']) {
  unpackArchiveSuite(`rejects a zip entry named ${JSON.stringify(name)}, naming it`, async () => {
    const store = createMemoryStore();
    const { digest } = await store.putBytes(buildZip([{ name: 'ok', body: 'fine' }, { name, body: 'evil' }]));
    const err = await rejectsWithCode<ArchiveError>(() => unpackArchive(store, digest, { label: 'src' }), 'KILN_ARCHIVE_UNSAFE_ENTRY');
    assert.is(err.entry, name.replace('\\', '/'));
    assert.is(err.label, 'src');
    assert.is(store.trees.size, 0);
    assert.not.ok([...store.blobs.values()].some((b) => b.toString() === 'evil'));
  });
}

unpackArchiveSuite('rejects a zip symlink that escapes the tree', async () => {
  const store = createMemoryStore();
  const { digest } = await store.putBytes(buildZip([{ name: 'link', body: '../../etc', unixMode: 0o120777 }]));
  const err = await rejectsWithCode<ArchiveError>(() => unpackArchive(store, digest, { label: 'src' }), 'KILN_ARCHIVE_UNSAFE_ENTRY');
  assert.is(err.entry, 'link');
});

unpackArchiveSuite('unpacks a .deb payload (data.tar.gz, .xz, .zst, plain) to the expected manifest', async () => {
  const tar = await payload();
  for (const [name, data] of [
    ['data.tar.gz', gzip(tar)],
    ['data.tar.xz', await compressWith('xz', tar)],
    ['data.tar.zst', await compressWith('zstd', tar)],
    ['data.tar', tar],
  ] as const) {
    const { tree } = await unpackBytes(await buildDeb(data, name));
    assert.equal(tree.manifest.entries, expectedEntries, name);
  }
});

unpackArchiveSuite('.deb: skips odd-sized members before the payload (ar pads them to even offsets)', async () => {
  const deb = buildAr([
    { name: 'debian-binary', body: '2.0\n' },
    { name: 'control.tar.gz/', body: 'odd' },
    { name: '_extra', body: 'x' },
    { name: 'data.tar/', body: await payload() },
  ]);
  const { tree } = await unpackBytes(deb);
  assert.equal(tree.manifest.entries, expectedEntries);
});

unpackArchiveSuite('.deb: accepts absolute links that resolve inside the payload, keeps them as written', async () => {
  const data = await buildTar([
    { name: './bin/busybox', body: 'elf', mode: 0o755 },
    { name: './usr/bin/sh', type: 'symlink', linkname: '/bin/busybox' },
    { name: './bin/ash', type: 'link', linkname: '/bin/busybox' },
  ]);
  const { tree } = await unpackBytes(await buildDeb(gzip(data)));
  assert.equal(tree.manifest.entries.find((e) => e.path === 'usr/bin/sh'), { path: 'usr/bin/sh', type: 'symlink', target: '/bin/busybox' });
  assert.equal(tree.manifest.entries.find((e) => e.path === 'bin/ash'), { path: 'bin/ash', type: 'file', mode: 0o755, digest: sha256Digest('elf'), size: 3 });
});

unpackArchiveSuite('.deb: still rejects links that climb out with ..', async () => {
  const data = await buildTar([{ name: './etc/evil', type: 'symlink', linkname: '/../../etc/shadow' }]);
  const store = createMemoryStore();
  const { digest } = await store.putBytes(await buildDeb(gzip(data)));
  const err = await rejectsWithCode<ArchiveError>(() => unpackArchive(store, digest, { label: 'busybox' }), 'KILN_ARCHIVE_UNSAFE_ENTRY');
  assert.is(err.entry, './etc/evil');
  assert.is(store.trees.size, 0);
});

unpackArchiveSuite('.deb without a data.tar member is corrupt; an unknown payload compression is unsupported', async () => {
  const store = createMemoryStore();
  const noData = await store.putBytes(buildAr([{ name: 'debian-binary', body: '2.0\n' }]));
  await rejectsWithCode(() => unpackArchive(store, noData.digest, { label: 'd' }), 'KILN_ARCHIVE_CORRUPT');
  const lzma = await store.putBytes(await buildDeb(Buffer.from('x'), 'data.tar.lzma'));
  await rejectsWithCode(() => unpackArchive(store, lzma.digest, { label: 'd' }), 'KILN_ARCHIVE_UNSUPPORTED');
  assert.is(store.trees.size, 0);
});

unpackArchiveSuite('.deb cut off right after its data member\'s header is corrupt, not a hang (found by the property tests)', async () => {
  const store = createMemoryStore();
  for (const dataName of ['data.tar.gz', 'data.tar', 'data.tar.xz']) {
    const deb = await buildDeb(gzip(await payload()), dataName);
    // Everything up to the end of the data member's 60-byte header; its body never comes.
    const cut = deb.subarray(0, deb.indexOf(Buffer.from(dataName)) + 60);
    const { digest } = await store.putBytes(cut);
    await rejectsWithCode(() => unpackArchive(store, digest, { label: 'd' }), 'KILN_ARCHIVE_CORRUPT');
  }
  assert.is(store.trees.size, 0);
});

unpackArchiveSuite('links: any unpacks a root filesystem with absolute links and device nodes', async () => {
  const rootfs = gzip(
    await buildTar([
      { name: './bin/sh', type: 'symlink', linkname: '/bin/busybox' },
      { name: './dev/console', type: 'character-device', devmajor: 5, devminor: 1 },
    ]),
  );
  const store = createMemoryStore();
  const { digest } = await store.putBytes(rootfs);
  await rejectsWithCode(() => unpackArchive(store, digest, { label: 'rootfs' }), 'KILN_ARCHIVE_UNSAFE_ENTRY');
  const tree = await unpackArchive(store, digest, { label: 'rootfs', links: 'any' });
  assert.equal(tree.manifest.entries.map((e) => e.path), ['bin', 'bin/sh', 'dev']);
});

unpackArchiveSuite('rejects bytes that are no archive as unsupported', async () => {
  const store = createMemoryStore();
  const { digest } = await store.putBytes('plain text');
  await rejectsWithCode(() => unpackArchive(store, digest, { label: 'src' }), 'KILN_ARCHIVE_UNSUPPORTED');
});

unpackArchiveSuite('reports corrupt compressed data as corrupt', async () => {
  const store = createMemoryStore();
  const xz = await compressWith('xz', await payload());
  xz[xz.length - 20] ^= 0xff;
  const bad = await store.putBytes(xz);
  await rejectsWithCode(() => unpackArchive(store, bad.digest, { label: 'src' }), 'KILN_ARCHIVE_CORRUPT');
  const gz = gzip(await payload()).subarray(0, 60);
  const truncated = await store.putBytes(gz);
  await rejectsWithCode(() => unpackArchive(store, truncated.digest, { label: 'src' }), 'KILN_ARCHIVE_CORRUPT');
  assert.is(store.trees.size, 0);
});

unpackArchiveSuite('names the missing tool when xz is not installed', async () => {
  const store = createMemoryStore();
  const { digest } = await store.putBytes(await compressWith('xz', await payload()));
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    const err = await rejectsWithCode<ArchiveError>(() => unpackArchive(store, digest, { label: 'src' }), 'KILN_ARCHIVE_TOOL_MISSING');
    assert.ok(err.hint?.includes('xz-utils'));
  } finally {
    process.env.PATH = path;
  }
  assert.is(store.trees.size, 0);
});

detectArchiveFormatSuite.run();
unpackArchiveSuite.run();
