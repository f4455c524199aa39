import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { detectFormat, isText } from '../../src/diff/detect.js';
import { buildAr, buildTar, buildZip, compressWith, gzip } from '../helpers/archives.js';

const detectFormatSuite = suite('detectFormat');

detectFormatSuite('tells each container by its magic bytes', async () => {
  const tar = await buildTar([{ name: 'a', body: 'a' }]);
  assert.is(detectFormat(tar), 'tar');
  assert.is(detectFormat(gzip(tar)), 'gzip');
  assert.is(detectFormat(await compressWith('xz', tar)), 'xz');
  assert.is(detectFormat(await compressWith('bzip2', tar)), 'bzip2');
  assert.is(detectFormat(await compressWith('zstd', tar)), 'zstd');
  assert.is(detectFormat(buildZip([{ name: 'a', body: 'a' }])), 'zip');
  assert.is(detectFormat(buildZip([])), 'zip');
  assert.is(detectFormat(buildAr([{ name: 'debian-binary', body: '2.0\n' }])), 'ar');
});

detectFormatSuite('takes a v7 tar (no magic) by its header checksum', async () => {
  const tar = Buffer.from(await buildTar([{ name: 'a', body: 'a' }]));
  tar.fill(0, 257, 265);
  let sum = 8 * 0x20;
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += tar[i]!;
  tar.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  assert.is(detectFormat(tar), 'tar');
});

detectFormatSuite('leaves text, short heads and zeros as leaves', () => {
  assert.is(detectFormat(Buffer.from('BZh is how this line starts, but it is text')), undefined);
  assert.is(detectFormat(Buffer.from('PK')), undefined);
  assert.is(detectFormat(Buffer.alloc(0)), undefined);
  assert.is(detectFormat(Buffer.alloc(1024)), undefined);
});

const isTextSuite = suite('isText');

isTextSuite('accepts UTF-8 without NUL, refuses NUL and invalid UTF-8', () => {
  assert.is(isText(Buffer.from('héllo\n')), true);
  assert.is(isText(Buffer.alloc(0)), true);
  assert.is(isText(Buffer.from([0x61, 0x00, 0x62])), false);
  assert.is(isText(Buffer.from([0xff, 0xfe, 0x41])), false);
});

detectFormatSuite.run();
isTextSuite.run();
