import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ingestTar } from '../../src/archive/ingest-tar.js';
import { packLayers, planPack, writeTreeTar } from '../../src/archive/pack.js';
import type { PackLayer } from '../../src/archive/types.js';
import type { TreeManifest } from '../../src/store/tree.js';
import { buildTar } from '../helpers/archives.js';
import { throwsWithCode } from '../helpers/index.js';
import { createMemoryStore, type MemoryStore } from '../helpers/memory-store.js';

const MTIME = 1_700_000_000;
const LONG = `${'deep/'.repeat(30)}${'n'.repeat(120)}.txt`;

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface Member {
  header: tar.Header & { pax?: Record<string, string> | null };
  body: string;
}

async function members(bytes: Buffer): Promise<Member[]> {
  const extract = tar.extract();
  Readable.from([bytes]).pipe(extract);
  const out: Member[] = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    out.push({ header: entry.header as Member['header'], body: Buffer.concat(chunks).toString() });
  }
  return out;
}

/** A small tree in the store, built through ingestTar so its blobs exist. */
async function sampleTree(store: MemoryStore): Promise<TreeManifest> {
  const bytes = await buildTar([
    { name: 'bin/tool', body: 'tool', mode: 0o755 },
    { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
    { name: 'share/a.txt', body: 'a' },
    { name: 'empty.txt', body: '' },
    { name: LONG, body: 'long' },
  ]);
  return (await ingestTar(store, Readable.from([bytes]), { label: 't', links: 'any' })).manifest;
}

const packLayersSuite = suite('packLayers');

packLayersSuite('places each layer under its prefix, parents once, sorted, with owners and modes', async () => {
  const store = createMemoryStore();
  const manifest = await sampleTree(store);
  const script = await store.putBytes('echo hi\n');
  const layers: PackLayer[] = [
    { prefix: 'kiln/inputs/src', source: { kind: 'tree', manifest }, uid: 1000, gid: 1000, readOnly: true },
    { prefix: 'kiln/work', source: { kind: 'dir', mode: 0o755 }, uid: 1000, gid: 1000, readOnly: false },
    { prefix: 'tmp', source: { kind: 'dir', mode: 0o1777 }, uid: 0, gid: 0, readOnly: false },
    { prefix: 'kiln/run.sh', source: { kind: 'file', digest: script.digest, size: script.size, executable: true }, uid: 0, gid: 0, readOnly: true },
  ];
  const list = await members(await collect(packLayers(store, layers, { mtime: MTIME })));
  const names = list.map((m) => m.header.name);
  assert.equal(names, [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  assert.is(names.filter((n) => n === 'kiln/').length, 1);
  const by = (name: string) => list.find((m) => m.header.name === name)?.header;
  assert.equal([by('kiln/')?.uid, by('kiln/')?.mode, by('kiln/inputs/')?.mode], [0, 0o755, 0o755]);
  assert.equal([by('kiln/inputs/src/')?.uid, by('kiln/inputs/src/')?.mode], [1000, 0o555]);
  assert.equal([by('kiln/inputs/src/bin/tool')?.mode, by('kiln/inputs/src/share/a.txt')?.mode], [0o555, 0o444]);
  assert.equal([by('kiln/inputs/src/bin/sh')?.type, by('kiln/inputs/src/bin/sh')?.linkname], ['symlink', '/bin/busybox']);
  assert.equal([by('kiln/run.sh')?.mode, by('kiln/work/')?.mode, by('kiln/work/')?.gid, by('tmp/')?.mode], [0o555, 0o755, 1000, 0o1777]);
  assert.is(list.find((m) => m.header.name === 'kiln/run.sh')?.body, 'echo hi\n');
  for (const { header } of list) {
    assert.is(header.mtime.getTime(), MTIME * 1000);
    assert.is(header.uname, '');
    assert.is(header.gname, '');
  }
});

packLayersSuite('writes long paths with pax path records and no time records', async () => {
  const store = createMemoryStore();
  const manifest = await sampleTree(store);
  const list = await members(await collect(writeTreeTar(store, manifest, { mtime: MTIME })));
  const long = list.find((m) => m.header.name === LONG);
  assert.is(long?.body, 'long');
  assert.equal(Object.keys(long?.header.pax ?? {}), ['path']);
  for (const { header } of list) for (const key of Object.keys(header.pax ?? {})) assert.not.ok(/time/.test(key), key);
});

packLayersSuite('the same input gives the same bytes', async () => {
  const store = createMemoryStore();
  const manifest = await sampleTree(store);
  const reversed: TreeManifest = { ...manifest, entries: [...manifest.entries].reverse() };
  const hash = async (m: TreeManifest) =>
    createHash('sha256')
      .update(await collect(packLayers(store, [{ prefix: 'x/y', source: { kind: 'tree', manifest: m }, uid: 0, gid: 0, readOnly: false }], { mtime: MTIME })))
      .digest('hex');
  const first = await hash(manifest);
  assert.is(await hash(manifest), first);
  assert.is(await hash(reversed), first, 'entry order of the manifest does not matter');
});

packLayersSuite('GNU tar reads the stream', async () => {
  const store = createMemoryStore();
  const bytes = await collect(writeTreeTar(store, await sampleTree(store), { mtime: MTIME }));
  const listed = spawnSync('tar', ['-tf', '-'], { input: bytes });
  assert.is(listed.status, 0, listed.stderr?.toString());
  assert.ok(listed.stdout.toString().split('\n').includes(LONG));
});

packLayersSuite('fails the stream when a blob is missing from the store', async () => {
  const store = createMemoryStore();
  const other = createMemoryStore();
  const manifest = await sampleTree(other);
  let failed: unknown;
  try {
    await collect(writeTreeTar(store, manifest, { mtime: MTIME }));
  } catch (err) {
    failed = err;
  }
  assert.is((failed as { code?: string } | undefined)?.code, 'KILN_STORE_MISSING');
});

const writeTreeTarSuite = suite('writeTreeTar');

writeTreeTarSuite('round trip: ingesting the tar of a tree gives the same tree digest', async () => {
  const store = createMemoryStore();
  const manifest = await sampleTree(store);
  const digest = await store.putTree(manifest);
  const back = await ingestTar(store, writeTreeTar(store, manifest, { mtime: 0 }), { label: 'rt', links: 'any' });
  assert.equal(back.manifest, manifest);
  assert.is(back.digest, digest);
});

writeTreeTarSuite('round trip of many small files read ahead and large ones streamed, in path order', async () => {
  const store = createMemoryStore();
  const specs = [
    ...Array.from({ length: 50 }, (_, i) => ({ name: `d/${String(i).padStart(2, '0')}.txt`, body: `${i}`.repeat(1 + i * 997) })),
    { name: 'd/25-large', body: Buffer.alloc(2 * 1024 * 1024 + 3, 9) },
    { name: 'e/large', body: Buffer.alloc(5 * 1024 * 1024, 5) },
  ];
  const { manifest, digest } = await ingestTar(store, Readable.from([await buildTar(specs)]), { label: 't', links: 'any' });
  const tar = await collect(writeTreeTar(store, manifest, { mtime: 0 }));
  const names = (await members(tar)).map((m) => m.header.name);
  assert.equal(names, [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  const back = await ingestTar(store, Readable.from([tar]), { label: 'rt', links: 'any' });
  assert.is(back.digest, digest);
});

const planPackSuite = suite('planPack');

planPackSuite('a later layer replaces an earlier entry of the same path', () => {
  const plan = planPack([
    { prefix: 'tmp', source: { kind: 'dir', mode: 0o755 }, uid: 0, gid: 0, readOnly: false },
    { prefix: '/tmp/', source: { kind: 'dir', mode: 0o1777 }, uid: 0, gid: 0, readOnly: false },
  ]);
  assert.equal(plan, [{ path: 'tmp', type: 'dir', mode: 0o1777, uid: 0, gid: 0 }]);
});

planPackSuite('rejects a layer placed under a file of another layer', () => {
  const file = { kind: 'file' as const, digest: `sha256:${'0'.repeat(64)}` as const, size: 0, executable: false };
  throwsWithCode(
    () =>
      planPack([
        { prefix: 'a', source: file, uid: 0, gid: 0, readOnly: false },
        { prefix: 'a/b', source: file, uid: 0, gid: 0, readOnly: false },
      ]),
    'KILN_ARCHIVE_CONFLICT',
  );
  throwsWithCode(() => planPack([{ prefix: '../x', source: file, uid: 0, gid: 0, readOnly: false }]), 'KILN_ARCHIVE_UNSAFE_ENTRY');
});

packLayersSuite.run();
writeTreeTarSuite.run();
planPackSuite.run();
