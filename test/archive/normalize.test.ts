import { spawnSync } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalGzipHeader } from '../../src/archive/gzip.js';
import { normalizeTree } from '../../src/archive/normalize.js';
import { TREE_FORMAT, type TreeManifest } from '../../src/store/tree.js';
import { buildTar, buildV7Tar, tempEntries, type TarSpec } from '../helpers/archives.js';
import { ArchiveError } from '../../src/archive/errors.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { createMemoryStore, type MemoryStore } from '../helpers/memory-store.js';

const SDE = 1_700_000_000;

async function treeOf(store: MemoryStore, files: Record<string, Buffer | string>): Promise<TreeManifest> {
  const entries = [];
  for (const path of Object.keys(files).sort()) {
    const put = await store.putBytes(files[path] as Buffer | string);
    entries.push({ path, type: 'file' as const, mode: 0o644 as const, digest: put.digest, size: put.size });
  }
  return { kiln: TREE_FORMAT, entries };
}

async function membersOf(bytes: Buffer): Promise<Array<tar.Header & { body: string }>> {
  const extract = tar.extract();
  Readable.from([bytes]).pipe(extract);
  const out: Array<tar.Header & { body: string }> = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.push({ ...entry.header, body: Buffer.concat(chunks).toString() });
  }
  return out;
}

// Build-time mtimes (after SOURCE_DATE_EPOCH) differ and are clamped; an older mtime (b.txt) is kept.
const messyA: TarSpec[] = [
  { name: 'pkg/', type: 'directory', mode: 0o775, mtime: new Date(1_800_000_000_000), uid: 1000, uname: 'alice' },
  { name: 'pkg/b.txt', body: 'bee', mode: 0o664, mtime: new Date(1_600_000_000_000), uid: 1000, gid: 100, uname: 'alice', gname: 'users' },
  { name: 'pkg/a.sh', body: '#!/bin/sh\n', mode: 0o4750, mtime: new Date(1_900_000_000_000) },
  { name: 'pkg/link', type: 'symlink', linkname: 'a.sh', mtime: new Date(1_900_000_000_000) },
];
const messyB: TarSpec[] = [
  { name: 'pkg/link', type: 'symlink', linkname: 'a.sh', mtime: new Date(2_000_000_000_000), uid: 5 },
  { name: 'pkg/a.sh', body: '#!/bin/sh\n', mode: 0o755, mtime: new Date(1_750_000_000_000), uid: 0, uname: 'root' },
  { name: 'pkg/b.txt', body: 'bee', mode: 0o644, mtime: new Date(1_600_000_000_000), uid: 33, gid: 33, uname: 'www', gname: 'www' },
  { name: 'pkg/', type: 'directory', mode: 0o700, mtime: new Date(1_700_000_000_000), uid: 0 },
];

/** A gzip member whose header carries a name, an mtime and the OS byte 3, as `gzip` writes it. */
function gzipWithName(data: Buffer, name: string, mtime: number): Buffer {
  const plain = gzipSync(data);
  const header = Buffer.from(plain.subarray(0, 10));
  header[3] = 0x08; // FNAME
  header.writeUInt32LE(mtime, 4);
  header[9] = 3;
  return Buffer.concat([header, Buffer.from(`${name}\0`, 'latin1'), plain.subarray(10)]);
}

const normalizeTreeSuite = suite('normalizeTree');

normalizeTreeSuite('makes two tars that differ only in mtimes, order and owners equal', async () => {
  const store = createMemoryStore();
  const a = await buildTar(messyA);
  const b = await buildTar(messyB);
  assert.is.not(a.toString('hex'), b.toString('hex'));
  const manifest = await treeOf(store, { 'a.tar': a, 'b.tar': b, 'notes.txt': 'not an archive' });
  const spillsBefore = await tempEntries('kiln-normalize-');
  const result = await normalizeTree(store, manifest, { sourceDateEpoch: SDE });
  assert.equal(await tempEntries('kiln-normalize-'), spillsBefore, 'temp copies are removed');
  assert.equal(result.rewritten, ['a.tar', 'b.tar']);
  const [ea, eb, notes] = result.manifest.entries;
  assert.ok(ea?.type === 'file' && eb?.type === 'file');
  assert.is(ea.digest, eb.digest);
  assert.equal(notes, manifest.entries[2]);
  assert.ok(store.trees.has(result.digest));
  const members = await membersOf(store.blobs.get(ea.digest) as Buffer);
  assert.equal(
    members.map((m) => [m.name, m.mode, m.uid, m.gid, m.uname, m.gname, m.mtime.getTime() / 1000]),
    [
      ['pkg/', 0o755, 0, 0, '', '', SDE],
      ['pkg/a.sh', 0o755, 0, 0, '', '', SDE],
      ['pkg/b.txt', 0o644, 0, 0, '', '', 1_600_000_000],
      ['pkg/link', 0o777, 0, 0, '', '', SDE],
    ],
  );
  assert.equal(members.map((m) => m.body), ['', '#!/bin/sh\n', 'bee', '']);
});

normalizeTreeSuite('keeps two tars that differ in one byte of content different', async () => {
  const store = createMemoryStore();
  const changed = messyB.map((m) => (m.name === 'pkg/b.txt' ? { ...m, body: 'bef' } : m));
  const manifest = await treeOf(store, { 'a.tar': await buildTar(messyA), 'b.tar': await buildTar(changed) });
  const result = await normalizeTree(store, manifest, { sourceDateEpoch: SDE });
  const [ea, eb] = result.manifest.entries;
  assert.ok(ea?.type === 'file' && eb?.type === 'file');
  assert.is.not(ea.digest, eb.digest);
});

normalizeTreeSuite('fixes a gzip header (mtime, name, OS) and keeps its content', async () => {
  const store = createMemoryStore();
  const text = Buffer.from('plain text, not a tar\n'.repeat(50));
  const original = gzipWithName(text, 'notes.txt', 1_234_567_890);
  const manifest = await treeOf(store, { 'notes.txt.gz': original });
  const result = await normalizeTree(store, manifest, { sourceDateEpoch: SDE });
  assert.equal(result.rewritten, ['notes.txt.gz']);
  const entry = result.manifest.entries[0];
  assert.ok(entry?.type === 'file');
  const fixed = store.blobs.get(entry.digest) as Buffer;
  assert.equal([...fixed.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, original[8], 0xff]);
  assert.not.ok(fixed.includes(Buffer.from('notes.txt')));
  assert.ok(gunzipSync(fixed).equals(text));
  assert.ok(fixed.subarray(10).equals(original.subarray(10 + 'notes.txt\0'.length)), 'the deflate data is untouched');
});

normalizeTreeSuite('normalizes the tar inside a gzip and recompresses it canonically', async () => {
  const store = createMemoryStore();
  const a = gzipWithName(await buildTar(messyA), 'a.tar', 111);
  const b = gzipSync(await buildTar(messyB), { level: 1 });
  const manifest = await treeOf(store, { 'a.tar.gz': a, 'b.tgz': b });
  const result = await normalizeTree(store, manifest, { sourceDateEpoch: SDE });
  assert.equal(result.rewritten, ['a.tar.gz', 'b.tgz']);
  const [ea, eb] = result.manifest.entries;
  assert.ok(ea?.type === 'file' && eb?.type === 'file');
  assert.is(ea.digest, eb.digest);
  const bytes = store.blobs.get(ea.digest) as Buffer;
  assert.equal([bytes[3], bytes.readUInt32LE(4), bytes[9]], [0, 0, 0xff]);
  const members = await membersOf(gunzipSync(bytes));
  assert.equal(members.map((m) => m.name), ['pkg/', 'pkg/a.sh', 'pkg/b.txt', 'pkg/link']);
});

normalizeTreeSuite('leaves non-archives and corrupt archives as they are; same digest when nothing changed', async () => {
  const store = createMemoryStore();
  const corruptTar = await buildTar(messyA);
  corruptTar.fill(0x41, 512 + 100, 512 + 108); // the second header's checksum no longer matches
  const truncatedGz = gzipSync(Buffer.alloc(4096, 1)).subarray(0, 30);
  const manifest = await treeOf(store, { 'bad.tar': corruptTar, 'bad.gz': truncatedGz, 'x.bin': Buffer.from([0x1f]), 'y.txt': 'y' });
  const before = await store.putTree(manifest);
  const result = await normalizeTree(store, manifest, { sourceDateEpoch: SDE });
  assert.equal(result.rewritten, []);
  assert.equal(result.manifest, manifest);
  assert.is(result.digest, before);
});

normalizeTreeSuite('is idempotent: a normalized tree normalizes to itself', async () => {
  const store = createMemoryStore();
  const manifest = await treeOf(store, { 'a.tar': await buildTar(messyA), 'a.tar.gz': gzipSync(await buildTar(messyB)) });
  const once = await normalizeTree(store, manifest, { sourceDateEpoch: SDE });
  const twice = await normalizeTree(store, once.manifest, { sourceDateEpoch: SDE });
  assert.is(twice.digest, once.digest);
  assert.equal(twice.rewritten, []);
});

normalizeTreeSuite('rewrites hard links so that the first name in order carries the bytes; GNU tar extracts it', async () => {
  const store = createMemoryStore();
  const bytes = await buildTar([
    { name: 'z-original', body: 'shared', mode: 0o755 },
    { name: 'a-link', type: 'link', linkname: 'z-original' },
    { name: 'm-link', type: 'link', linkname: 'a-link' },
  ]);
  const manifest = await treeOf(store, { 'l.tar': bytes });
  const result = await normalizeTree(store, manifest, { sourceDateEpoch: SDE });
  const entry = result.manifest.entries[0];
  assert.ok(entry?.type === 'file');
  const normalized = store.blobs.get(entry.digest) as Buffer;
  const members = await membersOf(normalized);
  assert.equal(
    members.map((m) => [m.name, m.type, m.linkname ?? null]),
    [
      ['a-link', 'file', null],
      ['m-link', 'link', 'a-link'],
      ['z-original', 'link', 'a-link'],
    ],
  );
  const { dir, cleanup } = await makeTempDir();
  const run = spawnSync('tar', ['-xf', '-', '-C', dir], { input: normalized });
  assert.is(run.status, 0, run.stderr?.toString());
  assert.equal((await readdir(dir)).sort(), ['a-link', 'm-link', 'z-original']);
  for (const name of ['a-link', 'm-link', 'z-original']) assert.is(await readFile(join(dir, name), 'utf8'), 'shared');
  await cleanup();
});

normalizeTreeSuite('normalizes a pre-POSIX v7 tar (no ustar magic) as it does any tar, alone and inside a gzip', async () => {
  const store = createMemoryStore();
  const v7 = buildV7Tar({ 'hello-2.10/README': 'Hello, world!\n', 'hello-2.10/configure': '#!/bin/sh\n' });
  const manifest = await treeOf(store, { 'hello.tar': v7, 'hello.tar.gz': gzipWithName(v7, 'hello.tar', 111) });
  const result = await normalizeTree(store, manifest, { sourceDateEpoch: 1_000_000_000 });
  assert.equal(result.rewritten, ['hello.tar', 'hello.tar.gz']);
  const [plain, zipped] = result.manifest.entries;
  assert.ok(plain?.type === 'file' && zipped?.type === 'file');
  for (const tar of [store.blobs.get(plain.digest) as Buffer, gunzipSync(store.blobs.get(zipped.digest) as Buffer)]) {
    const members = await membersOf(tar);
    assert.equal(members.map((m) => [m.name, m.mtime.getTime() / 1000, m.body]), [
      ['hello-2.10/', 1_000_000_000, ''],
      ['hello-2.10/README', 1_000_000_000, 'Hello, world!\n'],
      ['hello-2.10/configure', 1_000_000_000, '#!/bin/sh\n'],
    ]);
  }
});

normalizeTreeSuite('leaves a tar with data after its end as it is: a rewrite would drop it', async () => {
  const store = createMemoryStore();
  const tar = await buildTar(messyA);
  const manifest = await treeOf(store, { 'zeros.tar': Buffer.concat([tar, Buffer.alloc(8192)]), 'more.tar': Buffer.concat([tar, await buildTar(messyB)]) });
  const result = await normalizeTree(store, manifest, { sourceDateEpoch: SDE });
  assert.equal(result.rewritten, ['zeros.tar'], 'zero padding after the end is not data');
});

const canonicalGzipHeaderSuite = suite('canonicalGzipHeader');

canonicalGzipHeaderSuite('drops name, comment and header CRC, zeroes mtime, sets OS 255, keeps extra', () => {
  const head = Buffer.concat([
    Buffer.from([0x1f, 0x8b, 8, 0x1f, 1, 2, 3, 4, 2, 3]), // FTEXT|FHCRC|FEXTRA|FNAME|FCOMMENT
    Buffer.from([2, 0, 0xaa, 0xbb]),
    Buffer.from('name\0comment\0'),
    Buffer.from([0x12, 0x34]),
    Buffer.from('deflate'),
  ]);
  const fix = canonicalGzipHeader(head);
  assert.equal(fix && [...fix.header], [0x1f, 0x8b, 8, 0x05, 0, 0, 0, 0, 2, 0xff, 2, 0, 0xaa, 0xbb]);
  assert.is(fix?.length, head.length - 'deflate'.length);
});

canonicalGzipHeaderSuite('waits for more bytes when the header is incomplete, throws on a non-gzip', () => {
  assert.is(canonicalGzipHeader(Buffer.from([0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3, 0x41])), undefined);
  assert.throws(() => canonicalGzipHeader(Buffer.from('not a gzip header')));
});

/** Runs `fn` with the OS temp folder pointed at a fresh folder; returns what `fn` left in it. */
async function leftInTemp(fn: () => Promise<void>): Promise<string[]> {
  const { dir, cleanup } = await makeTempDir();
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    await fn();
    return await readdir(dir);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    await cleanup();
  }
}

const budget = suite('normalizeTree: maxDecompressedBytes');
const MiB = 1024 * 1024;

budget('refuses a small .tar.gz of zeros that expands past the budget, naming budget, step and file; the temp folder is left empty', async () => {
  const store = createMemoryStore();
  const bomb = gzipSync(await buildTar([{ name: 'zeros', body: Buffer.alloc(8 * MiB) }]), { level: 9 });
  assert.ok(bomb.length < 64 * 1024, `a small archive (${bomb.length} bytes)`);
  const manifest = await treeOf(store, { 'dist/bomb.tar.gz': bomb });
  const left = await leftInTemp(async () => {
    const err = await rejectsWithCode<ArchiveError>(() => normalizeTree(store, manifest, { sourceDateEpoch: SDE, maxDecompressedBytes: MiB, label: 'pack' }), 'KILN_ARCHIVE_TOO_LARGE');
    assert.instance(err, ArchiveError);
    assert.equal(err.budget, { name: 'limits.decompressedBytes', limit: MiB });
    assert.is(err.entry, 'dist/bomb.tar.gz');
    assert.is(err.label, 'pack');
    assert.match(err.message, /step "pack".*dist\/bomb\.tar\.gz.*limits\.decompressedBytes/);
  });
  assert.equal(left, []);
});

budget('counts a gzip of plain data too: decompressing it costs CPU even when nothing is written', async () => {
  const store = createMemoryStore();
  const manifest = await treeOf(store, { 'zeros.gz': gzipSync(Buffer.alloc(4 * MiB)) });
  const err = await rejectsWithCode<ArchiveError>(() => normalizeTree(store, manifest, { sourceDateEpoch: SDE, maxDecompressedBytes: MiB }), 'KILN_ARCHIVE_TOO_LARGE');
  assert.is(err.budget?.name, 'limits.decompressedBytes');
});

budget('an archive that decompresses to exactly the budget is normalized', async () => {
  const store = createMemoryStore();
  const inner = await buildTar(messyA);
  const manifest = await treeOf(store, { 'a.tar.gz': gzipSync(inner) });
  const result = await normalizeTree(store, manifest, { sourceDateEpoch: SDE, maxDecompressedBytes: inner.length });
  assert.equal(result.rewritten, ['a.tar.gz']);
});

normalizeTreeSuite.run();
budget.run();
canonicalGzipHeaderSuite.run();
