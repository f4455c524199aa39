import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseGzipHeader } from '../../src/archive/gzip.js';

const parseGzipHeaderSuite = suite('parseGzipHeader');

parseGzipHeaderSuite('reads mtime, OS byte and extra flags of a plain header', () => {
  const gz = Buffer.from(gzipSync('x'));
  gz.writeUInt32LE(1_700_000_000, 4);
  gz[9] = 3;
  const h = parseGzipHeader(gz)!;
  assert.equal([h.mtime, h.os, h.name, h.comment, h.extra], [1_700_000_000, 3, null, null, null]);
});

parseGzipHeaderSuite('reads the extra field, the name and the comment (RFC 1952 §2.3)', () => {
  const head = Buffer.concat([
    Buffer.from([0x1f, 0x8b, 8, 0x04 | 0x08 | 0x10, 0, 0, 0, 0, 2, 255]),
    Buffer.from([2, 0, 0xab, 0xcd]),
    Buffer.from('hello.tar\0a comment\0', 'latin1'),
  ]);
  const h = parseGzipHeader(head)!;
  assert.equal([h.extra, h.name, h.comment, h.xfl, h.os], ['abcd', 'hello.tar', 'a comment', 2, 255]);
});

parseGzipHeaderSuite('returns undefined for a truncated header or other bytes', () => {
  assert.is(parseGzipHeader(Buffer.from([0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3, 0x61])), undefined);
  assert.is(parseGzipHeader(Buffer.from('not gzip at all')), undefined);
});

parseGzipHeaderSuite.run();
