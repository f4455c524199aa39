import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ArchiveError } from '../../src/archive/errors.js';
import { Reader } from '../../src/archive/reader.js';
import { MAX_TAR_ENTRY_METADATA_BYTES, MAX_TAR_GLOBAL_BYTES, MAX_TAR_RECORD_BYTES, readTar, type TarEntry } from '../../src/archive/tar.js';
import { buildTar, buildV7Tar, paxRecords, TAR_END, tarHeader, tarMember } from '../helpers/archives.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';

type Read = Omit<TarEntry, 'body' | 'pax' | 'globalPax'> & { body: string; pax: Record<string, string>; globalPax: Record<string, string> };

/** Every entry with its body read, from `tar` served in chunks of `chunk` bytes. */
async function readAll(tar: Buffer, chunk = 100): Promise<Read[]> {
  const parts: Buffer[] = [];
  for (let at = 0; at < tar.length; at += chunk) parts.push(tar.subarray(at, at + chunk));
  const reader = readTar(Reader.fromStream((async function* () { yield* parts; })()), { label: 'src' });
  const out: Read[] = [];
  for (let e = await reader.next(); e !== undefined; e = await reader.next()) {
    const { body, pax, globalPax, ...fields } = e;
    out.push({ ...fields, body: (await body.read(1 << 20)).toString(), pax: Object.fromEntries(pax), globalPax: Object.fromEntries(globalPax) });
  }
  return out;
}

const names = (entries: Read[]) => entries.map((e) => e.name);

const readTarSuite = suite('readTar');

readTarSuite('reads ustar members with their metadata, and where each one\'s data lies in the archive', async () => {
  const tar = await buildTar([
    { name: 'dir/', type: 'directory', mode: 0o755 },
    { name: 'dir/f', body: 'hello', mode: 0o640, uid: 7, gid: 8, uname: 'u', gname: 'g', mtime: new Date(1_700_000_000_000) },
    { name: 'dir/l', type: 'symlink', linkname: 'f' },
    { name: 'dir/h', type: 'link', linkname: 'dir/f' },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 },
  ]);
  const entries = await readAll(tar);
  assert.equal(names(entries), ['dir/', 'dir/f', 'dir/l', 'dir/h', 'dev/null']);
  assert.equal(entries.map((e) => e.type), ['directory', 'file', 'symlink', 'link', 'character-device']);
  const f = entries[1]!;
  assert.equal([f.mode & 0o7777, f.uid, f.gid, f.uname, f.gname, f.mtime, f.size, f.body], [0o640, 7, 8, 'u', 'g', 1_700_000_000, 5, 'hello']);
  assert.is(tar.toString('utf8', f.offset, f.offset + f.size), 'hello', 'offset points at the data');
  assert.equal([entries[2]!.linkname, entries[3]!.linkname], ['f', 'dir/f']);
  assert.equal([entries[4]!.devmajor, entries[4]!.devminor], [1, 3]);
});

readTarSuite('joins the ustar prefix and the name; takes pax path and linkpath over both', async () => {
  const long = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
  const tar = Buffer.concat([
    tarMember({ name: 'f'.repeat(90), prefix: 'd'.repeat(120) }, 'prefixed'),
    tarMember({ name: 'PaxHeaders/x', typeflag: 'x' }, paxRecords({ path: 'from-pax', linkpath: 'target-from-pax' })),
    tarMember({ name: 'ignored', typeflag: '2', linkname: 'ignored-too' }),
    TAR_END,
  ]);
  const entries = await readAll(tar);
  assert.equal(names(entries), [long, 'from-pax']);
  assert.is(entries[1]!.linkname, 'target-from-pax');
});

readTarSuite('reads GNU long names and links (L, K) and base-256 numbers', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const long = `${'a'.repeat(150)}/${'b'.repeat(120)}`;
    await mkdir(join(dir, 'src', long.slice(0, 150)), { recursive: true });
    await writeFile(join(dir, 'src', long), 'gnu');
    const made = spawnSync('sh', ['-c', `cd '${dir}/src' && ln -s '${long}' link && tar --format=gnu --owner=0 --group=0 --numeric-owner -cf ../gnu.tar link '${long}'`]);
    assert.is(made.status, 0, made.stderr.toString());
    const entries = await readAll(await readFile(join(dir, 'gnu.tar')));
    assert.equal(names(entries), ['link', long]);
    assert.is(entries[0]!.linkname, long);
    assert.is(entries[1]!.body, 'gnu');
  } finally {
    await cleanup();
  }
  const big = tarHeader({ name: 'big' });
  big.fill(0, 124, 136);
  big[124] = 0x80;
  big.writeUInt32BE(3, 132); // size 3, in GNU base-256
  big.fill(' ', 148, 156);
  let sum = 0;
  for (const b of big) sum += b;
  big.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const entries = await readAll(Buffer.concat([big, Buffer.from('abc'), Buffer.alloc(509), TAR_END]));
  assert.equal([entries[0]!.size, entries[0]!.body], [3, 'abc']);
});

readTarSuite('applies global pax records to every later entry, local ones over them; an empty value unsets', async () => {
  const tar = Buffer.concat([
    tarMember({ name: 'g', typeflag: 'g' }, paxRecords({ comment: 'c1', uname: 'global' })),
    tarMember({ name: 'a' }, 'a'),
    tarMember({ name: 'x', typeflag: 'x' }, paxRecords({ uname: '', 'SCHILY.xattr.user.k': 'v', mtime: '1700000000.5' })),
    tarMember({ name: 'b' }, 'b'),
    tarMember({ name: 'c' }, 'c'),
    TAR_END,
  ]);
  const entries = await readAll(tar);
  assert.equal(names(entries), ['a', 'b', 'c']);
  assert.equal(entries.map((e) => e.uname), ['global', '', 'global']);
  assert.equal(entries[1]!.pax, { uname: '', 'SCHILY.xattr.user.k': 'v', mtime: '1700000000.5' });
  assert.equal(entries[1]!.globalPax, { comment: 'c1', uname: 'global' });
  assert.is(entries[1]!.mtime, 1_700_000_000.5);
  assert.equal(entries[2]!.pax, {}, 'local records apply to one entry only');
});

readTarSuite('reads a pre-POSIX v7 tar; its header checksum is checked like any other', async () => {
  const v7 = buildV7Tar({ 'hello-2.10/README': 'Hello, world!\n' });
  const entries = await readAll(v7);
  assert.equal(entries.map((e) => [e.name, e.type, e.body]), [
    ['hello-2.10/', 'directory', ''],
    ['hello-2.10/README', 'file', 'Hello, world!\n'],
  ]);
  const broken = Buffer.from(v7);
  broken[0] = 'j'.charCodeAt(0);
  const err = await rejectsWithCode<ArchiveError>(() => readAll(broken), 'KILN_ARCHIVE_CORRUPT');
  assert.instance(err, ArchiveError);
  assert.is(err.label, 'src');
});

readTarSuite('reads a regular-file entry whose name ends with a slash as a folder, and a folder\'s size as no data (GNU tar)', async () => {
  const tar = Buffer.concat([tarHeader({ name: 'old/', typeflag: '\0' }), tarHeader({ name: 'dir/', typeflag: '5', size: 4096 }), tarMember({ name: 'dir/f' }, 'f'), TAR_END]);
  const entries = await readAll(tar);
  assert.equal(entries.map((e) => [e.name, e.type, e.size]), [
    ['old/', 'directory', 0],
    ['dir/', 'directory', 0],
    ['dir/f', 'file', 1],
  ]);
});

readTarSuite('skips bodies left unread; ends at the first zero block and leaves what follows in the reader', async () => {
  const tar = Buffer.concat([await buildTar([{ name: 'a', body: 'x'.repeat(2000) }, { name: 'b', body: 'second' }]), Buffer.from('trailing')]);
  const raw = Reader.fromBuffer(tar);
  const reader = readTar(raw, { label: 'src' });
  await reader.next();
  const b = await reader.next();
  assert.is((await b!.body.read(100)).toString(), 'second');
  assert.is(await reader.next(), undefined);
  assert.is(await reader.next(), undefined);
  const rest = await raw.read(1 << 20);
  assert.ok(rest.subarray(rest.length - 8).equals(Buffer.from('trailing')), 'the bytes after the end are the caller\'s');
});

readTarSuite('refuses a header or a member cut short, and a bad size field', async () => {
  const tar = await buildTar([{ name: 'a', body: 'x'.repeat(4000) }, { name: 'b', body: 'b' }]);
  await rejectsWithCode(() => readAll(tar.subarray(0, 300)), 'KILN_ARCHIVE_CORRUPT');
  await rejectsWithCode(() => readAll(tar.subarray(0, 1024)), 'KILN_ARCHIVE_CORRUPT');
  // The body is not read: skipping it finds it short all the same.
  const reader = readTar(Reader.fromBuffer(tar.subarray(0, 1024)), { label: 'src' });
  await reader.next();
  await rejectsWithCode(() => reader.next(), 'KILN_ARCHIVE_CORRUPT');
  const badSize = tarHeader({ name: 'a' });
  badSize.write('12x4', 124, 'latin1');
  badSize.fill(' ', 148, 156);
  let sum = 0;
  for (const b of badSize) sum += b;
  badSize.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  await rejectsWithCode(() => readAll(Buffer.concat([badSize, TAR_END])), 'KILN_ARCHIVE_CORRUPT');
});

readTarSuite('says corruption in the caller\'s error family', async () => {
  const tar = Buffer.from(await buildTar([{ name: 'a', body: 'a' }]));
  tar[0] = 0x7a;
  class Mine extends Error {}
  const reader = readTar(Reader.fromBuffer(tar), { label: 'a', corrupt: (message) => new Mine(message) });
  try {
    await reader.next();
    assert.unreachable('a bad checksum is refused');
  } catch (err) {
    assert.instance(err, Mine);
    assert.match((err as Error).message, 'bad header checksum');
  }
});

const budgets = suite('readTar: budgets on metadata records');

budgets('one pax record past MAX_TAR_RECORD_BYTES is refused before it is read', async () => {
  const header = tarHeader({ name: 'x', typeflag: 'x', size: MAX_TAR_RECORD_BYTES + 1 });
  // Only the header is there: a refusal that needs the body would report truncation instead.
  const err = await rejectsWithCode<ArchiveError>(() => readAll(header), 'KILN_ARCHIVE_CORRUPT');
  assert.match(err.message, `${MAX_TAR_RECORD_BYTES + 1} bytes`);
});

budgets('the records of one entry together past MAX_TAR_ENTRY_METADATA_BYTES are refused', async () => {
  const record = (n: number) => tarMember({ name: `x${n}`, typeflag: 'x' }, paxRecords({ [`k${n}`]: 'v'.repeat(MAX_TAR_ENTRY_METADATA_BYTES / 2 - 64) }));
  const longName = tarMember({ name: 'L', typeflag: 'L' }, 'n'.repeat(200));
  await rejectsWithCode(() => readAll(Buffer.concat([record(1), record(2), longName, tarMember({ name: 'a' }, 'a'), TAR_END])), 'KILN_ARCHIVE_CORRUPT');
  // The same records spread over two entries are fine.
  const entries = await readAll(Buffer.concat([record(1), tarMember({ name: 'a' }, 'a'), record(2), longName, tarMember({ name: 'b' }, 'b'), TAR_END]));
  assert.equal(names(entries), ['a', 'n'.repeat(200)]);
});

budgets('global records in force past MAX_TAR_GLOBAL_BYTES are refused; replacing one keeps the total', async () => {
  const global = (records: Record<string, string>) => tarMember({ name: 'g', typeflag: 'g' }, paxRecords(records));
  const half = 'v'.repeat(MAX_TAR_GLOBAL_BYTES / 2);
  const replaced = await readAll(Buffer.concat([global({ k: half }), global({ k: half }), global({ k: half }), tarMember({ name: 'a' }, 'a'), TAR_END]));
  assert.equal(names(replaced), ['a']);
  await rejectsWithCode(() => readAll(Buffer.concat([global({ k1: half }), global({ k2: half }), global({ k3: half }), tarMember({ name: 'a' }, 'a'), TAR_END])), 'KILN_ARCHIVE_CORRUPT');
});

readTarSuite.run();
budgets.run();
