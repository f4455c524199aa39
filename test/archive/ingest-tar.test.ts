import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ArchiveError } from '../../src/archive/errors.js';
import { ingestTar } from '../../src/archive/ingest-tar.js';
import { sha256Digest } from '../../src/util/digest.js';
import { buildTar, type TarSpec } from '../helpers/archives.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { createMemoryStore } from '../helpers/memory-store.js';

/**
 * Runs `fn` with the working directory inside a fresh temp dir beside a sentinel file, then
 * checks that nothing was written: the sentinel is unchanged and the working folder empty.
 */
async function withSentinel(fn: () => Promise<void>): Promise<void> {
  const { dir, cleanup } = await makeTempDir();
  const work = join(dir, 'work');
  await mkdir(work);
  await writeFile(join(dir, 'sentinel'), 'untouched');
  const cwd = process.cwd();
  process.chdir(work);
  try {
    await fn();
  } finally {
    process.chdir(cwd);
  }
  assert.is(await readFile(join(dir, 'sentinel'), 'utf8'), 'untouched');
  assert.equal(await readdir(work), []);
  assert.equal((await readdir(dir)).sort(), ['sentinel', 'work']);
  await cleanup();
}

async function rejectsHostile(members: TarSpec[], entry: string, code = 'KILN_ARCHIVE_UNSAFE_ENTRY', links: 'contained' | 'any' = 'contained') {
  await withSentinel(async () => {
    const store = createMemoryStore();
    const tar = await buildTar(members);
    const err = await rejectsWithCode<ArchiveError>(() => ingestTar(store, Readable.from([tar]), { label: 'src', links }), code);
    assert.is(err.entry, entry);
    assert.is(err.label, 'src');
    assert.ok(err.message.includes(JSON.stringify(entry)), err.message);
    assert.is(store.trees.size, 0, 'no tree is stored');
    // Only benign bytes may have entered the store: never the hostile entry's content.
    for (const blob of store.blobs.values()) assert.is.not(blob.toString(), 'evil');
  });
}

const ingestTarSuite = suite('ingestTar');

ingestTarSuite('streams files into the store and stores the manifest', async () => {
  const store = createMemoryStore();
  const tar = await buildTar([
    { name: './', type: 'directory' },
    { name: './bin/tool', body: '#!/bin/sh\n', mode: 0o4755, uid: 1000, uname: 'me' },
    { name: './README', body: 'hello' },
    { name: './bin/alias', type: 'symlink', linkname: 'tool' },
    { name: './bin/copy', type: 'link', linkname: './README' },
  ]);
  const { manifest, digest } = await ingestTar(store, Readable.from([tar]), { label: 'src', links: 'contained' });
  assert.equal(manifest.entries, [
    { path: 'README', type: 'file', mode: 0o644, digest: sha256Digest('hello'), size: 5 },
    { path: 'bin', type: 'dir' },
    { path: 'bin/alias', type: 'symlink', target: 'tool' },
    { path: 'bin/copy', type: 'file', mode: 0o644, digest: sha256Digest('hello'), size: 5 },
    { path: 'bin/tool', type: 'file', mode: 0o755, digest: sha256Digest('#!/bin/sh\n'), size: 10 },
  ]);
  assert.ok(store.trees.has(digest));
  assert.equal(await store.readTree(digest), manifest);
  assert.is(store.blobs.get(sha256Digest('hello'))?.toString(), 'hello');
});

ingestTarSuite('strip: the out/ folder of a container archive becomes the root', async () => {
  const store = createMemoryStore();
  const tar = await buildTar([
    { name: 'out/', type: 'directory' },
    { name: 'out/a.txt', body: 'a' },
    { name: 'out/abs', type: 'symlink', linkname: '/usr/bin/env' },
  ]);
  const { manifest } = await ingestTar(store, Readable.from([tar]), { label: 'step build', strip: 'out', links: 'any' });
  assert.equal(manifest.entries.map((e) => e.path), ['a.txt', 'abs']);
});

ingestTarSuite('reads long names written with pax headers', async () => {
  const store = createMemoryStore();
  const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
  const tar = await buildTar([{ name: long, body: 'x' }]);
  const { manifest } = await ingestTar(store, Readable.from([tar]), { label: 'src', links: 'contained' });
  assert.equal(manifest.entries.map((e) => e.path), ['d'.repeat(120), long]);
});

ingestTarSuite('rejects a tar entry that climbs out with ../', () => rejectsHostile([{ name: '../sentinel', body: 'evil' }], '../sentinel'));

ingestTarSuite('rejects a tar entry with an absolute path', () => rejectsHostile([{ name: '/tmp/evil', body: 'evil' }], '/tmp/evil'));

ingestTarSuite('rejects an absolute symlink in an input', () =>
  rejectsHostile([{ name: 'passwd', type: 'symlink', linkname: '/etc/passwd' }], 'passwd'));

ingestTarSuite('rejects a symlink that climbs out with ..', () =>
  rejectsHostile([{ name: 'a/up', type: 'symlink', linkname: '../../sentinel' }], 'a/up'));

ingestTarSuite('rejects a file written through a symlinked folder', () =>
  rejectsHostile(
    [
      { name: 'dir', type: 'symlink', linkname: '.' },
      { name: 'dir/evil', body: 'evil' },
    ],
    'dir/evil',
  ));

ingestTarSuite('rejects a file written through a symlinked folder even when links are data', () =>
  rejectsHostile(
    [
      { name: 'dir', type: 'symlink', linkname: '/etc' },
      { name: 'dir/cron.d/evil', body: 'evil' },
    ],
    'dir/cron.d/evil',
    'KILN_ARCHIVE_UNSAFE_ENTRY',
    'any',
  ));

ingestTarSuite('rejects a hard link to a path outside the tree', () =>
  rejectsHostile([{ name: 'h', type: 'link', linkname: '../../etc/shadow' }], 'h'));

ingestTarSuite('rejects a hard link to an unknown entry', () => rejectsHostile([{ name: 'h', type: 'link', linkname: 'nothing' }], 'h'));

ingestTarSuite('rejects a device node in an input', () =>
  rejectsHostile([{ name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 }], 'dev/sda'));

ingestTarSuite('rejects a FIFO in an input', () => rejectsHostile([{ name: 'pipe', type: 'fifo' }], 'pipe'));

ingestTarSuite('any: skips device nodes of a root filesystem', async () => {
  const store = createMemoryStore();
  const tar = await buildTar([
    { name: 'dev/', type: 'directory' },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 },
    { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
  ]);
  const { manifest } = await ingestTar(store, Readable.from([tar]), { label: 'rootfs', links: 'any' });
  assert.equal(manifest.entries.map((e) => e.path), ['bin', 'bin/sh', 'dev']);
});

ingestTarSuite('drops the setuid bit of a file (0755 remains)', async () => {
  const store = createMemoryStore();
  const tar = await buildTar([{ name: 'su', body: 'x', mode: 0o4755 }]);
  const { manifest } = await ingestTar(store, Readable.from([tar]), { label: 'src', links: 'contained' });
  assert.equal(manifest.entries, [{ path: 'su', type: 'file', mode: 0o755, digest: sha256Digest('x'), size: 1 }]);
});

ingestTarSuite('wraps a corrupt tar as KILN_ARCHIVE_CORRUPT', async () => {
  const store = createMemoryStore();
  const tar = await buildTar([{ name: 'a', body: 'hello' }]);
  tar[100] = 0x39; // breaks the header checksum
  await rejectsWithCode(() => ingestTar(store, Readable.from([tar]), { label: 'src', links: 'contained' }), 'KILN_ARCHIVE_CORRUPT');
  await rejectsWithCode(() => ingestTar(store, Readable.from([tar.subarray(0, 600)]), { label: 'src', links: 'contained' }), 'KILN_ARCHIVE_CORRUPT');
  assert.is(store.trees.size, 0);
});

ingestTarSuite('many small files and large ones: every blob is stored by the time the tree is', async () => {
  const store = createMemoryStore();
  const large = Buffer.alloc(3 * 1024 * 1024, 1);
  const members: TarSpec[] = [
    ...Array.from({ length: 60 }, (_, i) => ({ name: `small/${String(i).padStart(2, '0')}`, body: `file ${i}\n`.repeat(i * 500) })),
    { name: 'large/a', body: large },
    { name: 'large/copy', type: 'link' as const, linkname: 'small/59' },
  ];
  const { manifest, digest } = await ingestTar(store, Readable.from([await buildTar(members)]), { label: 'src', links: 'contained' });
  assert.ok(store.trees.has(digest));
  for (const entry of manifest.entries) if (entry.type === 'file') assert.ok(store.blobs.has(entry.digest), entry.path);
  assert.is(store.blobs.get(sha256Digest(large))?.length, large.length);
  assert.is(store.blobs.get(sha256Digest('file 7\n'.repeat(3500)))?.toString(), 'file 7\n'.repeat(3500));
});

ingestTarSuite('a failed store write fails the ingest, and no tree is stored', async () => {
  const inner = createMemoryStore();
  let writes = 0;
  const store = Object.assign(Object.create(inner) as typeof inner, {
    putBytes: (data: Uint8Array | string, options?: Parameters<typeof inner.putBytes>[1]) => {
      if (++writes === 3) return Promise.reject(new Error('disk full'));
      return inner.putBytes(data, options);
    },
  });
  const tar = await buildTar(Array.from({ length: 10 }, (_, i) => ({ name: `f${i}`, body: `body ${i}` })));
  try {
    await ingestTar(store, Readable.from([tar]), { label: 'src', links: 'contained' });
    assert.unreachable('should fail');
  } catch (err) {
    assert.ok((err as Error).message.includes('disk full'), (err as Error).message);
  }
  assert.is(inner.trees.size, 0);
});

ingestTarSuite.run();
