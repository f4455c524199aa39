import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { xzStreamSize } from '../../src/archive/xz-index.js';
import { compressWith } from '../helpers/archives.js';

const MAX = 1 << 30;
/** Compressible but not trivial: xz's blocks hold real data. */
const data = (bytes: number) => Buffer.from(randomBytes(bytes / 2).toString('hex'));

const size = suite('xzStreamSize');

size('reads the uncompressed size from the index of one stream, in one block or many', async () => {
  const plain = data(100_000);
  assert.is(xzStreamSize(await compressWith('xz', plain), MAX), plain.length);
  const blocks = await compressWith('xz', plain, ['--block-size=4096']);
  assert.is(xzStreamSize(blocks, MAX), plain.length);
  assert.is(xzStreamSize(await compressWith('xz', Buffer.alloc(0)), MAX), 0);
});

size('anything but exactly one stream gives no size: concatenated streams, stream padding, a cut or foreign file', async () => {
  const one = await compressWith('xz', data(1000));
  assert.is(xzStreamSize(Buffer.concat([one, one]), MAX), undefined);
  assert.is(xzStreamSize(Buffer.concat([one, Buffer.alloc(4)]), MAX), undefined);
  assert.is(xzStreamSize(one.subarray(0, one.length - 1), MAX), undefined);
  assert.is(xzStreamSize(one.subarray(1), MAX), undefined);
  assert.is(xzStreamSize(Buffer.from('not xz at all, but long enough to have a footer'), MAX), undefined);
  assert.is(xzStreamSize(await compressWith('gzip', data(1000)), MAX), undefined);
});

size('a size past the budget gives none', async () => {
  const plain = data(10_000);
  const xz = await compressWith('xz', plain);
  assert.is(xzStreamSize(xz, plain.length), plain.length);
  assert.is(xzStreamSize(xz, plain.length - 1), undefined);
});

size('a backward size pointing outside the file or a malformed index gives none', async () => {
  const xz = Buffer.from(await compressWith('xz', data(1000)));
  const far = Buffer.from(xz);
  far.writeUInt32LE(0xffff, far.length - 8);
  assert.is(xzStreamSize(far, MAX), undefined);
  const badIndicator = Buffer.from(xz);
  const backward = (xz.readUInt32LE(xz.length - 8) + 1) * 4;
  badIndicator[xz.length - 12 - backward] = 0x01;
  assert.is(xzStreamSize(badIndicator, MAX), undefined);
});

size.run();
