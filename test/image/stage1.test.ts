import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readDebShape, SHAPE_DIGEST } from '../../src/archive/index.js';
import { basePackages, debRelationsOf, unpackDebs, type FetchedDeb } from '../../src/image/index.js';
import { sha256Digest } from '../../src/util/digest.js';
import { buildDeb, buildTar, gzip } from '../helpers/archives.js';
import { createMemoryStore, type MemoryStore } from '../helpers/memory-store.js';

/** A .deb in the store with a control file and a data.tar.gz holding `files` (path → body). */
async function deb(store: MemoryStore, name: string, control: string, files: Record<string, string>, required = false): Promise<FetchedDeb> {
  const data = gzip(await buildTar([{ name: './', type: 'directory' }, ...Object.entries(files).map(([path, body]) => ({ name: `./${path}`, body }))]));
  const bytes = await buildDeb(data, 'data.tar.gz', { text: `Package: ${name}\nVersion: 1\n${control}` });
  const put = await store.putBytes(bytes);
  return { pin: { package: name, version: '1', arch: 'amd64', integrity: put.integrity, size: put.size, required }, digest: put.digest, size: put.size, cached: true };
}

const shape = suite('readDebShape');

shape('lists every path of the payload with its kind, and stores no file', async () => {
  const store = createMemoryStore();
  const d = await deb(store, 'gcc', '', { 'usr/bin/gcc': 'compiler bytes', 'usr/share/doc/gcc/copyright': 'GPL' });
  const before = store.blobs.size;
  const got = await readDebShape(store, d.digest, { label: 'gcc' });
  assert.equal(got.entries.map((e) => `${e.type} ${e.path}`), ['dir usr', 'dir usr/bin', 'file usr/bin/gcc', 'dir usr/share', 'dir usr/share/doc', 'dir usr/share/doc/gcc', 'file usr/share/doc/gcc/copyright']);
  assert.ok(got.entries.every((e) => e.type !== 'file' || e.digest === SHAPE_DIGEST));
  assert.is(store.blobs.size, before, 'nothing stored');
});

const stage1 = suite('stage 1 parts');

stage1('the base (required and what it depends on) is unpacked into the store, first; the others are only shaped', async () => {
  const store = createMemoryStore();
  const debs = [
    await deb(store, 'dpkg', 'Depends: libc6\n', { 'usr/bin/dpkg': 'dpkg binary' }, true),
    await deb(store, 'libc6', '', { 'usr/lib/libc.so.6': 'libc' }),
    await deb(store, 'gcc', 'Depends: libc6\n', { 'usr/bin/gcc': 'gcc binary' }),
  ];
  const base = new Set(basePackages(debs, await debRelationsOf(store, debs, { label: 'img' })));
  assert.equal([...base], ['dpkg', 'libc6']);
  const order: string[] = [];
  const parts = await unpackDebs(store, debs, { label: 'img', full: base, onFull: (p) => void order.push(`full:${p.map((x) => x.package).join(',')}`) });
  assert.equal(parts.map((p) => p.package), ['dpkg', 'libc6', 'gcc']);
  assert.equal(order, ['full:dpkg,libc6']);
  assert.ok(store.blobs.has(sha256Digest('dpkg binary')) && store.blobs.has(sha256Digest('libc')));
  assert.not.ok(store.blobs.has(sha256Digest('gcc binary')), 'gcc is for dpkg to unpack, in the sandbox');
  assert.ok(parts[2]!.manifest.entries.some((e) => e.path === 'usr/bin/gcc' && e.type === 'file'));

  // Read again from the refs: the same parts, nothing unpacked twice.
  const again = await unpackDebs(store, debs, { label: 'img', full: base });
  assert.equal(again, parts);
});

shape.run();
stage1.run();
