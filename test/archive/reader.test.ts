import { Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { boundedReader, Reader } from '../../src/archive/reader.js';

const readerSuite = suite('Reader');

const chunked = (...parts: string[]) => Reader.fromStream(Readable.from(parts.map((p) => Buffer.from(p))));

readerSuite('reads exact counts across chunks, peeks without consuming', async () => {
  const r = chunked('ab', 'cde', 'f');
  assert.is((await r.peek(4)).toString(), 'abcd');
  assert.is((await r.read(3)).toString(), 'abc');
  assert.is((await r.read(10)).toString(), 'def');
  assert.is(await r.next(), null);
});

readerSuite('bounds a sub-reader and leaves the rest to its parent', async () => {
  const parent = chunked('hello', 'world');
  const { reader, left } = boundedReader(parent, 7, () => new Error('truncated'));
  assert.is((await reader.read(100)).toString(), 'hellowo');
  assert.is(left(), 0);
  assert.is((await parent.read(100)).toString(), 'rld');
});

readerSuite('skips and drains, counting bytes', async () => {
  const r = chunked('abc', 'defg');
  assert.is(await r.skip(2), 2);
  assert.is(await r.drain(), 5);
});

readerSuite.run();
