import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { arEntries } from '../../src/diff/ar.js';
import { Reader } from '../../src/archive/reader.js';
import { buildAr } from '../helpers/archives.js';
import { rejectsWithCode } from '../helpers/index.js';

const arEntriesSuite = suite('arEntries');

arEntriesSuite('streams the members of a .deb with their header fields', async () => {
  const ar = buildAr([
    { name: 'debian-binary', body: '2.0\n' },
    { name: 'odd', body: 'abc' },
    { name: 'data.tar.gz', body: 'payload' },
  ]);
  const stream = arEntries(Reader.fromBuffer(ar), 'a');
  const seen: Array<[string, string, unknown]> = [];
  for (let e = await stream.next(); e !== undefined; e = await stream.next()) {
    seen.push([e.name, (await e.content!.open().read(100)).toString(), e.meta]);
  }
  assert.equal(seen.map(([n, b]) => [n, b]), [
    ['debian-binary', '2.0\n'],
    ['odd', 'abc'],
    ['data.tar.gz', 'payload'],
  ]);
  assert.equal(seen[0]![2], { type: 'file', mtime: 0, uid: 0, gid: 0, mode: 0o644 });
});

arEntriesSuite('resolves BSD #1/<len> names', async () => {
  const header = (name: string, size: number) =>
    name.padEnd(16) + '0'.padEnd(12) + '0'.padEnd(6) + '0'.padEnd(6) + '100644'.padEnd(8) + String(size).padEnd(10) + '`\n';
  const ar = Buffer.from('!<arch>\n' + header('#1/20', 24) + 'a-long-member-name.x' + 'body', 'latin1');
  const e = await arEntries(Reader.fromBuffer(ar), 'a').next();
  assert.is(e!.name, 'a-long-member-name.x');
  assert.is((await e!.content!.open().read(100)).toString(), 'body');
});

arEntriesSuite('throws KILN_DIFF_CORRUPT on a bad magic', async () => {
  await rejectsWithCode(() => arEntries(Reader.fromBuffer(Buffer.from('!<arXX>\nxxxx')), 'a').next(), 'KILN_DIFF_CORRUPT');
});

arEntriesSuite.run();
