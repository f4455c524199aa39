import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { basePackages, debianBaseTree, debianPackagesTree, debRelationsOf, packageLists, unpackDebs, type FetchedDeb } from '../../src/image/index.js';
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

const stage1 = suite('stage 1 parts');

stage1('only the base (required and what it depends on) is unpacked into the store; the others are left to dpkg', async () => {
  const store = createMemoryStore();
  const debs = [
    await deb(store, 'dpkg', 'Depends: libc6\n', { 'usr/bin/dpkg': 'dpkg binary' }, true),
    await deb(store, 'libc6', '', { 'usr/lib/libc.so.6': 'libc' }),
    await deb(store, 'gcc', 'Depends: libc6\n', { 'usr/bin/gcc': 'gcc binary' }),
  ];
  const base = new Set(basePackages(debs, await debRelationsOf(store, debs, { label: 'img' })));
  assert.equal([...base], ['dpkg', 'libc6']);
  const parts = await unpackDebs(store, debs.filter((d) => base.has(d.pin.package)), { label: 'img' });
  assert.equal(parts.map((p) => p.package), ['dpkg', 'libc6']);
  assert.ok(store.blobs.has(sha256Digest('dpkg binary')) && store.blobs.has(sha256Digest('libc')));
  assert.not.ok(store.blobs.has(sha256Digest('gcc binary')), 'gcc is for dpkg to unpack, in the sandbox');
  const tree = await debianBaseTree(store, parts, packageLists(debs));
  const paths = tree.entries.map((e) => e.path);
  assert.ok(paths.includes('usr/bin/dpkg') && paths.includes('usr/lib/libc.so.6') && paths.includes('var/lib/dpkg/status'));
  assert.not.ok(paths.includes('usr/bin/gcc'));

  // The package folder: every .deb by name and the two lists, nothing read from gcc's data.
  const folder = await store.readTree(await debianPackagesTree(store, debs));
  assert.equal(folder.entries.map((e) => e.path), ['dpkg.deb', 'gcc.deb', 'libc6.deb', 'required', 'rest']);

  // Read again from the refs: the same parts, nothing unpacked twice.
  const blobs = store.blobs.size;
  const again = await unpackDebs(store, debs.filter((d) => base.has(d.pin.package)), { label: 'img' });
  assert.equal(again, parts);
  assert.is(store.blobs.size, blobs);
});

stage1('an aborted unpack stops before the next package', async () => {
  const store = createMemoryStore();
  const debs = [await deb(store, 'a', '', { 'a.txt': 'a' }), await deb(store, 'b', '', { 'b.txt': 'b' })];
  const abort = new AbortController();
  abort.abort(new Error('stop'));
  const failed = await unpackDebs(store, debs, { label: 'img', signal: abort.signal }).then(() => undefined, (err: unknown) => err);
  assert.is((failed as Error | undefined)?.message, 'stop');
  assert.not.ok(store.blobs.has(sha256Digest('a')));
});

stage1.run();
