import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_DEB_CONTROL_BYTES, MAX_DEB_CONTROL_MEMBER_BYTES, readDebControl, readDebControls } from '../../src/archive/deb-control.js';
import { buildAr, buildDeb, buildTar, compressWith, gzip } from '../helpers/archives.js';
import { rejectsWithCode } from '../helpers/index.js';
import { createMemoryStore } from '../helpers/memory-store.js';

const CONTROL = 'Package: hello\nVersion: 2.10-3\nDepends: libc6 (>= 2.34)\nDescription: greets\n the world\n';

const read = async (deb: Buffer) => {
  const store = createMemoryStore();
  const { digest } = await store.putBytes(deb);
  return readDebControl(store, digest, { label: 'hello' });
};

const readDebControlSuite = suite('readDebControl');

readDebControlSuite('reads ./control from control.tar.gz, skipping the other members', async () => {
  const member = gzip(
    await buildTar([
      { name: './', type: 'directory' },
      { name: './md5sums', body: 'abc  usr/bin/hello\n' },
      { name: './control', body: CONTROL },
      { name: './postinst', body: '#!/bin/sh\n', mode: 0o755 },
    ]),
  );
  assert.is(await read(await buildDeb(await buildTar([]), 'data.tar.gz', { member })), CONTROL);
});

readDebControlSuite('reads control.tar.xz', async () => {
  const member = await compressWith('xz', await buildTar([{ name: './control', body: CONTROL }]));
  assert.is(await read(await buildDeb(await buildTar([]), 'data.tar.xz', { member, name: 'control.tar.xz' })), CONTROL);
});

readDebControlSuite(`refuses a control file over ${MAX_DEB_CONTROL_BYTES} bytes`, async () => {
  const text = `Package: big\nDescription: x\n${' .\n'.repeat(MAX_DEB_CONTROL_BYTES / 3 + 1)}`;
  const deb = await buildDeb(Buffer.alloc(0), 'data.tar.gz', { text });
  const err = await rejectsWithCode<{ label: string }>(() => read(deb), 'KILN_ARCHIVE_CORRUPT');
  assert.is(err.label, 'hello');
});

readDebControlSuite('a .deb without a control member or without ./control is corrupt; an unknown compression is unsupported', async () => {
  await rejectsWithCode(() => read(buildAr([{ name: 'debian-binary', body: '2.0\n' }])), 'KILN_ARCHIVE_CORRUPT');
  const empty = gzip(await buildTar([{ name: './md5sums', body: '' }]));
  await rejectsWithCode(async () => read(await buildDeb(Buffer.alloc(0), 'data.tar.gz', { member: empty })), 'KILN_ARCHIVE_CORRUPT');
  await rejectsWithCode(async () => read(await buildDeb(Buffer.alloc(0), 'data.tar.gz', { member: Buffer.from('x'), name: 'control.tar.lz4' })), 'KILN_ARCHIVE_UNSUPPORTED');
});

const batch = suite('readDebControls');

/** A .deb whose control member is control.tar.xz (Debian's), holding `text`. */
const xzDeb = async (text: string) => buildDeb(await buildTar([]), 'data.tar.xz', { member: await compressWith('xz', await buildTar([{ name: './control', body: text }])), name: 'control.tar.xz' });
const control = (name: string) => `Package: ${name}\nVersion: 1\nDepends: libc6\n`;

/** CRC32 (IEEE), as the xz index carries it. */
function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

batch('reads many .debs in their order, xz members together and the others alone', async () => {
  const store = createMemoryStore();
  const names = ['a', 'b', 'c', 'd'];
  const debs = [await xzDeb(control('a')), await buildDeb(await buildTar([]), 'data.tar.gz', { text: control('b') }), await xzDeb(control('c')), await xzDeb(control('d'))];
  const blobs = await Promise.all(debs.map(async (deb, i) => ({ digest: (await store.putBytes(deb)).digest, label: names[i]! })));
  assert.equal(await readDebControls(store, blobs), names.map(control));
  assert.equal(await readDebControls(store, []), []);
});

batch('a corrupt xz member fails its own .deb by name; the batch around it is read one by one', async () => {
  const store = createMemoryStore();
  const member = Buffer.from(await compressWith('xz', await buildTar([{ name: './control', body: control('bad') }])));
  member[40] = member[40]! ^ 0xff;
  const bad = await buildDeb(await buildTar([]), 'data.tar.xz', { member, name: 'control.tar.xz' });
  const blobs = [
    { digest: (await store.putBytes(await xzDeb(control('good')))).digest, label: 'good' },
    { digest: (await store.putBytes(bad)).digest, label: 'bad' },
  ];
  const err = await rejectsWithCode<{ label: string }>(() => readDebControls(store, blobs), 'KILN_ARCHIVE_CORRUPT');
  assert.is(err.label, 'bad');
  assert.equal(await readDebControls(store, blobs.slice(0, 1)), [control('good')]);
});

batch('an xz index that lies about its size fails that .deb; it never shifts another\'s control', async () => {
  const store = createMemoryStore();
  const member = Buffer.from(await compressWith('xz', await buildTar([{ name: './control', body: control('liar') }])));
  // The index: indicator, record count, then (unpadded size, uncompressed size); the tar is 2 KiB or more, a two-byte varint.
  const backward = (member.readUInt32LE(member.length - 8) + 1) * 4;
  const index = member.length - 12 - backward;
  const sizeAt = index + 2 + (member[index + 2]! & 0x80 ? 2 : 1);
  member[sizeAt] = member[sizeAt]! ^ 0x08;
  member.writeUInt32LE(crc32(member.subarray(index, member.length - 16)), member.length - 16);
  const liar = await buildDeb(await buildTar([]), 'data.tar.xz', { member, name: 'control.tar.xz' });
  const blobs = [
    { digest: (await store.putBytes(await xzDeb(control('before')))).digest, label: 'before' },
    { digest: (await store.putBytes(liar)).digest, label: 'liar' },
    { digest: (await store.putBytes(await xzDeb(control('after')))).digest, label: 'after' },
  ];
  const err = await rejectsWithCode<{ label: string }>(() => readDebControls(store, blobs), 'KILN_ARCHIVE_CORRUPT');
  assert.is(err.label, 'liar');
});

batch(`refuses a control member over ${MAX_DEB_CONTROL_MEMBER_BYTES} bytes before decompressing it`, async () => {
  const store = createMemoryStore();
  const deb = await buildDeb(await buildTar([]), 'data.tar.xz', { member: Buffer.alloc(MAX_DEB_CONTROL_MEMBER_BYTES + 1), name: 'control.tar.xz' });
  const { digest } = await store.putBytes(deb);
  const err = await rejectsWithCode<{ label: string }>(() => readDebControls(store, [{ digest, label: 'huge' }]), 'KILN_ARCHIVE_CORRUPT');
  assert.is(err.label, 'huge');
});

readDebControlSuite.run();
batch.run();
