import { Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_AR_NAME_TABLE, readAr, selectArMember } from '../../src/archive/ar.js';
import { Reader } from '../../src/archive/reader.js';
import { buildAr } from '../helpers/archives.js';
import { rejectsWithCode } from '../helpers/index.js';

/** An ar member header as GNU ar writes it (name field as given). */
function header(name: string, size: number): string {
  return name.padEnd(16) + '1700000000'.padEnd(12) + '0'.padEnd(6) + '0'.padEnd(6) + '100644'.padEnd(8) + String(size).padEnd(10) + '`\n';
}

async function readAll(ar: Buffer): Promise<Array<[string, string]>> {
  const reader = readAr(Reader.fromBuffer(ar), { label: 'pkg' });
  const out: Array<[string, string]> = [];
  for (let m = await reader.next(); m !== undefined; m = await reader.next()) out.push([m.name, (await m.body.read(1 << 20)).toString()]);
  return out;
}

const readArSuite = suite('readAr');

readArSuite('reads members with their header fields, at even offsets', async () => {
  const reader = readAr(Reader.fromBuffer(buildAr([{ name: 'odd', body: 'abc' }, { name: 'even', body: 'ab' }])), { label: 'pkg' });
  const first = await reader.next();
  assert.equal([first!.name, first!.mtime, first!.uid, first!.gid, first!.mode, first!.size], ['odd', 0, 0, 0, 0o100644, 3]);
  const second = await reader.next();
  assert.is((await second!.body.read(10)).toString(), 'ab', 'the pad byte after an odd member is skipped');
  assert.is(await reader.next(), undefined);
});

readArSuite('resolves GNU long names from the // table, which is no member', async () => {
  const table = 'a-rather-long-member-name.o/\nanother-long-member-name.o/\n';
  const ar = Buffer.from('!<arch>\n' + header('//', table.length) + table + '\n' + header('/0', 1) + 'x\n' + header('/29', 1) + 'y\n' + header('short.o/', 1) + 'z\n', 'latin1');
  assert.equal(await readAll(ar), [
    ['a-rather-long-member-name.o', 'x'],
    ['another-long-member-name.o', 'y'],
    ['short.o', 'z'],
  ]);
});

readArSuite('refuses a long-name table past MAX_AR_NAME_TABLE, a bad magic, a bad header', async () => {
  await rejectsWithCode(() => readAll(Buffer.from('!<arch>\n' + header('//', MAX_AR_NAME_TABLE + 1), 'latin1')), 'KILN_ARCHIVE_CORRUPT');
  await rejectsWithCode(() => readAll(Buffer.from('!<arXX>\nxxxx')), 'KILN_ARCHIVE_CORRUPT');
  await rejectsWithCode(() => readAll(Buffer.from('!<arch>\n' + header('a', 1).replace('`\n', 'xx') + 'x\n', 'latin1')), 'KILN_ARCHIVE_CORRUPT');
});

const selectArMemberSuite = suite('selectArMember');

selectArMemberSuite('streams the first member that the pick accepts', async () => {
  const member = selectArMember(Readable.from([buildAr([{ name: 'debian-binary', body: '2.0\n' }, { name: 'data.tar.xz', body: 'payload' }, { name: 'data.tar.gz', body: 'later' }])]), (n) => n.startsWith('data.tar'), 'pkg');
  assert.is(await member.name, 'data.tar.xz');
  const chunks: Buffer[] = [];
  for await (const c of member.stream) chunks.push(c as Buffer);
  assert.is(Buffer.concat(chunks).toString(), 'payload');
});

selectArMemberSuite('rejects an archive without such a member, and a member cut short', async () => {
  const none = selectArMember(Readable.from([buildAr([{ name: 'debian-binary', body: '2.0\n' }])]), (n) => n.startsWith('data.tar'), 'pkg');
  await rejectsWithCode(() => none.name, 'KILN_ARCHIVE_CORRUPT');
  const ar = buildAr([{ name: 'data.tar', body: 'x'.repeat(100) }]);
  const cut = selectArMember(Readable.from([ar.subarray(0, ar.length - 50)]), () => true, 'pkg');
  assert.is(await cut.name, 'data.tar');
  await rejectsWithCode(async () => {
    for await (const _ of cut.stream) void _;
  }, 'KILN_ARCHIVE_CORRUPT');
});

readArSuite.run();
selectArMemberSuite.run();
