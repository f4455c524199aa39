import { lutimes, mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { diffPaths } from '../../src/diff/compare.js';
import type { DiffReport, Difference } from '../../src/diff/types.js';
import { buildDeb, buildTar, buildZip, compressWith, gzip, type TarSpec } from '../helpers/archives.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';

const diffPathsSuite = suite('diffPaths');

/** Writes the two sides to a fresh temp folder and compares them. */
async function diffBytes(a: Buffer, b: Buffer, options: Parameters<typeof diffPaths>[2] = {}): Promise<DiffReport> {
  const { dir, cleanup } = await makeTempDir('kiln-diff-test-');
  try {
    await writeFile(join(dir, 'a'), a);
    await writeFile(join(dir, 'b'), b);
    return await diffPaths(join(dir, 'a'), join(dir, 'b'), options);
  } finally {
    await cleanup();
  }
}

const at = (report: DiffReport, path: string[]) => report.differences.filter((d) => JSON.stringify(d.path) === JSON.stringify(path));
const only = (report: DiffReport): Difference => {
  assert.is(report.differences.length, 1, JSON.stringify(report.differences, null, 1));
  return report.differences[0]!;
};

const members = (): TarSpec[] => [
  { name: 'dir/', type: 'directory', mode: 0o755 },
  { name: 'dir/a.txt', body: 'alpha\n', mode: 0o644, mtime: new Date(1_700_000_000_000) },
  { name: 'dir/b.bin', body: Buffer.from([0, 1, 2, 3, 4, 5]), mode: 0o644, mtime: new Date(1_700_000_000_000) },
  { name: 'dir/run.sh', body: '#!/bin/sh\necho hi\n', mode: 0o755, mtime: new Date(1_700_000_000_000) },
];

diffPathsSuite('reports member order only as one ordering difference at the archive', async () => {
  const list = members();
  const swapped = [list[0]!, list[2]!, list[1]!, list[3]!];
  const report = await diffBytes(await buildTar(list), await buildTar(swapped));
  const d = only(report);
  assert.is(d.kind, 'ordering');
  assert.is(d.class, 'ordering');
  assert.equal(d.path, []);
  if (d.kind !== 'ordering') return;
  assert.is(d.detail.index, 1);
  assert.equal(d.detail.a.slice(0, 2), ['dir/a.txt', 'dir/b.bin']);
  assert.equal(d.detail.b.slice(0, 2), ['dir/b.bin', 'dir/a.txt']);
  assert.is(report.identical, false);
  assert.is(report.summary.ordering, 1);
});

diffPathsSuite('reports one changed mtime as a timestamp difference at the member', async () => {
  const b = members();
  b[2] = { ...b[2]!, mtime: new Date(1_700_000_042_000) };
  const d = only(await diffBytes(await buildTar(members()), await buildTar(b)));
  assert.is(d.kind, 'timestamp');
  assert.is(d.class, 'timestamp');
  assert.equal(d.path, ['dir/b.bin']);
  if (d.kind === 'timestamp') assert.equal([d.detail.field, d.detail.a, d.detail.b], ['mtime', 1_700_000_000, 1_700_000_042]);
});

diffPathsSuite('reports one changed mode as a permissions difference at the member', async () => {
  const b = members();
  b[1] = { ...b[1]!, mode: 0o600 };
  const d = only(await diffBytes(await buildTar(members()), await buildTar(b)));
  assert.is(d.kind, 'permissions');
  assert.is(d.class, 'permissions');
  assert.equal(d.path, ['dir/a.txt']);
  if (d.kind === 'permissions') assert.equal([d.detail.a, d.detail.b], [0o644, 0o600]);
});

diffPathsSuite('finds one changed byte inside a tar.gz inside a zip, at its nested path', async () => {
  const data = Buffer.alloc(4096);
  const changed = Buffer.from(data);
  changed[3000] = 8;
  const inner = (body: Buffer) => buildTar([{ name: 'dir/file.bin', body, mtime: new Date(0) }]);
  const zipOf = async (body: Buffer) =>
    buildZip([
      { name: 'README', body: 'same\n' },
      { name: 'inner.tar.gz', body: gzipSync(await inner(body)) },
    ]);
  const report = await diffBytes(await zipOf(data), await zipOf(changed));
  const deep = at(report, ['inner.tar.gz', 'dir/file.bin']);
  assert.is(deep.length, 1, JSON.stringify(report.differences));
  assert.is(deep[0]!.kind, 'binary');
  assert.is(deep[0]!.class, 'content');
  if (deep[0]!.kind === 'binary') assert.is(deep[0]!.detail.regions[0]!.offset, 3000);
  // Beside it only sizes may differ (the gzip streams compress the change differently).
  const others = report.differences.filter((d) => d !== deep[0]);
  assert.ok(others.every((d) => d.kind === 'size'), JSON.stringify(others));
});

diffPathsSuite('reports gzip header mtime and name alone, with the same content', async () => {
  const body = await buildTar(members());
  const header = (mtime: number, name?: string) => {
    const gz = gzipSync(body);
    const fixed = Buffer.from(gz.subarray(0, 10));
    fixed.writeUInt32LE(mtime, 4);
    if (name === undefined) return Buffer.concat([fixed, gz.subarray(10)]);
    fixed[3] = fixed[3]! | 0x08;
    return Buffer.concat([fixed, Buffer.from(`${name}\0`, 'latin1'), gz.subarray(10)]);
  };
  const report = await diffBytes(header(0), header(1_700_000_000, 'hello.tar'));
  const fields = report.differences.filter((d) => d.kind === 'gzip-header').map((d) => [d.detail.field, d.class]);
  assert.equal(fields, [
    ['mtime', 'timestamp'],
    ['name', 'content'],
  ]);
  assert.ok(report.differences.every((d) => d.kind === 'gzip-header' || d.kind === 'size'), JSON.stringify(report.differences));
});

diffPathsSuite('reports a changed symlink target in a tar', async () => {
  const tarWith = (target: string) => buildTar([{ name: 'link', type: 'symlink', linkname: target }]);
  const d = only(await diffBytes(await tarWith('run.sh'), await tarWith('/etc/passwd')));
  assert.is(d.kind, 'link-target');
  assert.is(d.class, 'content');
  if (d.kind === 'link-target') assert.equal([d.detail.a, d.detail.b], ['run.sh', '/etc/passwd']);
});

diffPathsSuite('compares folders: added and removed files, symlinks, nested content', async () => {
  const { dir, cleanup } = await makeTempDir('kiln-diff-test-');
  try {
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    for (const side of [a, b]) {
      await mkdir(join(side, 'sub'), { recursive: true });
      await writeFile(join(side, 'sub', 'same.txt'), 'same\n');
    }
    await writeFile(join(a, 'old.txt'), 'gone\n');
    await writeFile(join(b, 'new.txt'), 'fresh\n');
    await symlink('same.txt', join(a, 'sub', 'link'));
    await symlink('other.txt', join(b, 'sub', 'link'));
    for (const p of ['sub', 'sub/same.txt', 'old.txt']) await utimes(join(a, p), 1_700_000_000, 1_700_000_000);
    for (const p of ['sub', 'sub/same.txt', 'new.txt']) await utimes(join(b, p), 1_700_000_000, 1_700_000_000);
    for (const side of [a, b]) await lutimes(join(side, 'sub', 'link'), 1_700_000_000, 1_700_000_000);
    const report = await diffPaths(a, b);
    const seen = report.differences.map((d) => [d.path.join('/'), d.kind, d.class]);
    assert.equal(seen, [
      ['old.txt', 'removed', 'presence'],
      ['sub/link', 'link-target', 'content'],
      ['new.txt', 'added', 'presence'],
    ]);
  } finally {
    await cleanup();
  }
});

diffPathsSuite('shows text as a unified diff with context 3', async () => {
  const lines = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
  const changed = [...lines];
  changed[9] = 'LINE 10';
  const d = only(await diffBytes(Buffer.from(lines.join('\n') + '\n'), Buffer.from(changed.join('\n') + '\n')));
  assert.is(d.kind, 'text');
  if (d.kind !== 'text') return;
  assert.equal(d.detail.hunks, [
    { aStart: 7, aLines: 7, bStart: 7, bLines: 7, lines: [' line 7', ' line 8', ' line 9', '-line 10', '+LINE 10', ' line 11', ' line 12', ' line 13'] },
  ]);
});

diffPathsSuite('shows binary content as the differing offsets with hex excerpts', async () => {
  const a = Buffer.alloc(10_000);
  const b = Buffer.from(a);
  b[10] = 0xff;
  b[5000] = 0xab;
  const d = only(await diffBytes(a, b));
  assert.is(d.kind, 'binary');
  if (d.kind !== 'binary') return;
  assert.equal(
    d.detail.regions.map((r) => [r.offset, r.a.slice(0, 4), r.b.slice(0, 4)]),
    [
      [10, '0000', 'ff00'],
      [5000, '0000', 'ab00'],
    ],
  );
  assert.is(d.detail.regions[0]!.a.length, 32, 'a 16-byte excerpt');
});

diffPathsSuite('streams members above the text cap: offsets and the size difference', async () => {
  const big = Buffer.alloc(300_000, 'x');
  const other = Buffer.concat([big, Buffer.from('tail')]);
  other[200_000] = 0x79;
  const report = await diffBytes(await buildTar([{ name: 'big', body: big }]), await buildTar([{ name: 'big', body: other }]), { textCap: 1024 });
  const kinds = at(report, ['big']).map((d) => d.kind);
  assert.equal(kinds, ['size', 'binary']);
  const bin = at(report, ['big'])[1]!;
  if (bin.kind === 'binary') {
    assert.equal(bin.detail.regions.map((r) => r.offset), [200_000, 300_000]);
    assert.equal([bin.detail.aSize, bin.detail.bSize], [300_000, 300_004]);
  }
});

diffPathsSuite('reads tar.xz and tar.bz2 through the tools', async () => {
  const b = members();
  b[3] = { ...b[3]!, body: '#!/bin/sh\necho bye\n' };
  for (const tool of ['xz', 'bzip2']) {
    const report = await diffBytes(await compressWith(tool, await buildTar(members())), await compressWith(tool, await buildTar(b)));
    assert.equal(at(report, ['dir/run.sh']).map((d) => d.kind), ['size', 'text'], `${tool}: ${JSON.stringify(report.differences)}`);
  }
});

diffPathsSuite('opens a .deb: the changed member of data.tar.xz at its path', async () => {
  const payload = async (text: string) => compressWith('xz', await buildTar([{ name: './usr/share/doc/x/README', body: text }]));
  const report = await diffBytes(await buildDeb(await payload('one\n'), 'data.tar.xz'), await buildDeb(await payload('two\n'), 'data.tar.xz'));
  const d = at(report, ['data.tar.xz', './usr/share/doc/x/README']);
  assert.is(d.length, 1, JSON.stringify(report.differences));
  assert.is(d[0]!.kind, 'text');
  assert.ok(report.differences.every((x) => x.path[0] === 'data.tar.xz'));
});

diffPathsSuite('reports identical pairs as identical', async () => {
  const tar = await buildTar(members());
  for (const bytes of [tar, gzip(tar), buildZip([{ name: 'a', body: 'a' }]), Buffer.from('text\n'), Buffer.alloc(0)]) {
    const report = await diffBytes(bytes, Buffer.from(bytes));
    assert.is(report.identical, true);
    assert.equal(report.differences, []);
    assert.is(report.summary.content, 0);
  }
});

diffPathsSuite('pairs members by name after a divergence: added, removed, changed; no spill left behind', async () => {
  const { dir, cleanup } = await makeTempDir('kiln-diff-spill-');
  try {
    const a = members();
    const b = [a[0]!, { name: 'dir/new.txt', body: 'new\n' }, a[1]!, { ...a[2]!, body: Buffer.from([9, 9, 9]) }];
    const report = await diffBytes(gzip(await buildTar(a)), gzip(await buildTar(b)), { tempDir: dir });
    const seen = report.differences.filter((d) => d.path.length > 0).map((d) => [d.path.join(' › '), d.kind]);
    assert.equal(seen, [
      ['dir/b.bin', 'size'],
      ['dir/b.bin', 'binary'],
      ['dir/run.sh', 'removed'],
      ['dir/new.txt', 'added'],
    ]);
    assert.equal(await readdir(dir), []);
  } finally {
    await cleanup();
  }
});

diffPathsSuite('compares a zip inside a tar (spilled for random access)', async () => {
  const tarOf = async (text: string) => buildTar([{ name: 'lib.jar', body: buildZip([{ name: 'META-INF/MANIFEST.MF', body: text }]) }]);
  const report = await diffBytes(await tarOf('Version: 1\n'), await tarOf('Version: 2\n'));
  const d = at(report, ['lib.jar', 'META-INF/MANIFEST.MF']);
  assert.is(d.length, 1, JSON.stringify(report.differences));
  assert.is(d[0]!.kind, 'text');
});

diffPathsSuite('reports a corrupt side as unreadable instead of failing', async () => {
  const good = gzip(await buildTar(members()));
  const bad = Buffer.from(good);
  bad.fill(0x55, 40, 80);
  const report = await diffBytes(await buildTar([{ name: 'x.tar.gz', body: good }]), await buildTar([{ name: 'x.tar.gz', body: bad }]));
  const kinds = at(report, ['x.tar.gz']).map((d) => d.kind);
  assert.ok(kinds.includes('unreadable'), JSON.stringify(report.differences));
});

diffPathsSuite('explains bytes that differ where no structure shows it', async () => {
  const tar = await buildTar(members());
  const padded = Buffer.concat([tar, Buffer.alloc(512)]);
  const inner = async (t: Buffer) => buildTar([{ name: 't.tar', body: t }]);
  const report = await diffBytes(await inner(tar), await inner(padded));
  const kinds = at(report, ['t.tar']).map((d) => d.kind);
  assert.equal(kinds, ['size', 'bytes']);
});

diffPathsSuite('counts differences past maxDifferences without keeping them', async () => {
  const many = (mtime: number) => buildTar(Array.from({ length: 30 }, (_, i) => ({ name: `f${i}`, body: 'x', mtime: new Date(mtime) })));
  const report = await diffBytes(await many(0), await many(1000), { maxDifferences: 10 });
  assert.is(report.differences.length, 10);
  assert.is(report.omitted, 20);
  assert.is(report.summary.timestamp, 30);
});

diffPathsSuite('throws KILN_DIFF_NOT_FOUND for a missing path', async () => {
  await rejectsWithCode(() => diffPaths('/nonexistent/kiln-a', '/nonexistent/kiln-b'), 'KILN_DIFF_NOT_FOUND');
});

diffPathsSuite.run();
