import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Reader } from '../../src/archive/reader.js';
import { tarEntries } from '../../src/diff/tar.js';
import { buildTar } from '../helpers/archives.js';
import { rejectsWithCode } from '../helpers/index.js';

const tarEntriesSuite = suite('tarEntries');

async function readAll(tar: Buffer) {
  const stream = tarEntries(Reader.fromBuffer(tar), 'a');
  const out: Array<{ name: string; meta: unknown; body?: string }> = [];
  for (let e = await stream.next(); e !== undefined; e = await stream.next()) {
    const body = e.content ? (await e.content.open().read(1 << 20)).toString() : undefined;
    out.push({ name: e.name, meta: e.meta, ...(body !== undefined && { body }) });
  }
  return out;
}

tarEntriesSuite('streams names, metadata and bodies of ustar members', async () => {
  const tar = await buildTar([
    { name: 'dir/', type: 'directory', mode: 0o755 },
    { name: 'dir/f', body: 'hello', mode: 0o640, uid: 7, gid: 8, uname: 'u', gname: 'g', mtime: new Date(1_700_000_000_000) },
    { name: 'dir/l', type: 'symlink', linkname: 'f' },
  ]);
  const entries = await readAll(tar);
  assert.equal(entries.map((e) => e.name), ['dir/', 'dir/f', 'dir/l']);
  assert.equal(entries[1], {
    name: 'dir/f',
    meta: { type: 'file', mode: 0o640, uid: 7, gid: 8, uname: 'u', gname: 'g', mtime: 1_700_000_000 },
    body: 'hello',
  });
  assert.is((entries[2]!.meta as { linkTarget: string }).linkTarget, 'f');
});

tarEntriesSuite('skips a body the reader left unread', async () => {
  const tar = await buildTar([
    { name: 'a', body: 'x'.repeat(2000) },
    { name: 'b', body: 'second' },
  ]);
  const stream = tarEntries(Reader.fromBuffer(tar), 'a');
  await stream.next();
  const b = await stream.next();
  assert.is(b!.name, 'b');
  assert.is((await b!.content!.open().read(100)).toString(), 'second');
});

tarEntriesSuite('takes long names from pax records and keeps other records as extra', async () => {
  const long = `${'d'.repeat(120)}/file`;
  const tar = await buildTar([{ name: long, body: 'x', pax: { 'SCHILY.xattr.user.k': 'v' } }]);
  const [entry] = await readAll(tar);
  assert.is(entry!.name, long);
  assert.equal((entry!.meta as { extra: unknown }).extra, { 'pax SCHILY.xattr.user.k': 'v' });
});

tarEntriesSuite('throws KILN_DIFF_CORRUPT on a bad header checksum', async () => {
  const tar = Buffer.from(await buildTar([{ name: 'a', body: 'a' }]));
  tar[0] = 0x7a;
  await rejectsWithCode(() => tarEntries(Reader.fromBuffer(tar), 'a').next(), 'KILN_DIFF_CORRUPT');
});

tarEntriesSuite('throws KILN_DIFF_CORRUPT when a member is cut short', async () => {
  const tar = (await buildTar([{ name: 'a', body: 'x'.repeat(4000) }])).subarray(0, 1024);
  const stream = tarEntries(Reader.fromBuffer(tar), 'a');
  const e = await stream.next();
  await rejectsWithCode(() => e!.content!.open().drain(), 'KILN_DIFF_CORRUPT');
});

tarEntriesSuite.run();
