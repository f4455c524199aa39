import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_DEB_CONTROL_BYTES, readDebControl } from '../../src/archive/deb-control.js';
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

readDebControlSuite.run();
