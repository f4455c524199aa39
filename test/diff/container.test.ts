import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseByteSize } from '../../src/cli/options.js';
import { runCommand } from '../../src/cli/main.js';

const runDiffCommand = (args: string[], io: Parameters<typeof runCommand>[1]) => runCommand(['diff', ...args], io);
import { diffPaths } from '../../src/diff/compare.js';
import type { DiffOptions, DiffReport, Difference } from '../../src/diff/types.js';
import { buildTar, buildZip, compressWith, gzip, type TarSpec } from '../helpers/archives.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';

const MiB = 1024 * 1024;

/**
 * Compares two byte strings written into a fresh folder, spilling into its own temp folder;
 * returns the report and what the comparison left in that temp folder.
 */
async function diffWithin(a: Buffer, b: Buffer, options: DiffOptions): Promise<{ report: DiffReport; left: string[] }> {
  const { dir, cleanup } = await makeTempDir('kiln-diff-budget-');
  try {
    await mkdir(join(dir, 'tmp'));
    await writeFile(join(dir, 'a'), a);
    await writeFile(join(dir, 'b'), b);
    const report = await diffPaths(join(dir, 'a'), join(dir, 'b'), { ...options, tempDir: join(dir, 'tmp') });
    return { report, left: await readdir(join(dir, 'tmp')) };
  } finally {
    await cleanup();
  }
}

const tooLarge = (report: DiffReport): Difference[] => report.differences.filter((d) => d.kind === 'too-large');

/** Two tars whose members come in another order (so the rest is indexed), a bomb of zeros among them. */
async function reorderedWithBomb(zeros: number): Promise<[Buffer, Buffer]> {
  const bomb: TarSpec = { name: 'zeros', body: Buffer.alloc(zeros) };
  const small = (text: string): TarSpec => ({ name: 'small.txt', body: text });
  const a = await buildTar([{ name: 'first', body: '1\n' }, bomb, small('one\n')]);
  const b = await buildTar([small('two\n'), bomb, { name: 'first', body: '1\n' }]);
  return [a, b];
}

const spill = suite('kiln diff: one spill budget per diff');

spill('a tar.gz bomb (32 MiB of zeros, reordered) past maxSpillBytes: reported too-large, the rest still compared, nothing left', async () => {
  const [a, b] = await reorderedWithBomb(32 * MiB);
  const { report, left } = await diffWithin(gzip(a), gzip(b), { maxSpillBytes: MiB });
  const [d] = tooLarge(report);
  assert.ok(d, JSON.stringify(report.differences));
  assert.equal(d.path, ['zeros']);
  assert.is(d.class, 'content');
  assert.equal(d.kind === 'too-large' && d.detail, { side: 'both', budget: 'maxSpillBytes', limit: MiB, size: 32 * MiB });
  assert.ok(report.differences.some((x) => x.kind === 'ordering'));
  assert.ok(report.differences.some((x) => x.kind === 'text' && x.path[0] === 'small.txt'), 'members after the bomb are still compared');
  assert.equal(left, [], 'the spill files are gone');
});

spill('a bzip2 bomb (10^6:1) is held to the same budget', async () => {
  const [a, b] = await reorderedWithBomb(48 * MiB);
  const [ba, bb] = await Promise.all([compressWith('bzip2', a), compressWith('bzip2', b)]);
  assert.ok(ba.length < 4096, `the compressed side is small (${ba.length} bytes)`);
  const { report, left } = await diffWithin(ba, bb, { maxSpillBytes: MiB });
  assert.equal(tooLarge(report).map((d) => d.path), [['zeros']]);
  assert.equal(left, []);
});

spill('the budget is shared: a member fits while room is left, the next one past it does not', async () => {
  const body = (n: number) => Buffer.alloc(n, n % 251);
  const a = await buildTar([{ name: 'x', body: 'x' }, { name: 'm1', body: body(600_000) }, { name: 'm2', body: body(600_000) }]);
  const b = await buildTar([{ name: 'm1', body: body(600_001) }, { name: 'm2', body: body(600_001) }, { name: 'x', body: 'x' }]);
  const { report } = await diffWithin(gzip(a), gzip(b), { maxSpillBytes: 1_250_000 });
  // a's members take 1,200,001 bytes of the 1,250,000: neither 600,001-byte member of b fits beside them.
  const marked = tooLarge(report).map((d) => [d.path.join('/'), d.kind === 'too-large' && d.detail.side]);
  assert.equal(marked, [['m1', 'b'], ['m2', 'b']]);
});

spill('members in the same order spill nothing: with a budget of 0 every member is still compared', async () => {
  const list = (last: number): TarSpec[] => [
    { name: 'big.bin', body: Buffer.concat([Buffer.alloc(2 * MiB), Buffer.from([last])]) },
    { name: 'note.txt', body: `v${last}\n` },
  ];
  const { report, left } = await diffWithin(gzip(await buildTar(list(1))), gzip(await buildTar(list(2))), { maxSpillBytes: 0 });
  assert.equal(tooLarge(report), []);
  const inside = report.differences.filter((d) => d.path.length > 0);
  assert.equal(inside.map((d) => [d.path.join('/'), d.kind]), [['big.bin', 'binary'], ['note.txt', 'text']]);
  assert.equal(left, []);
});

spill('a zip inside a tar (spilled for random access) past the budget is reported too-large, not opened', async () => {
  const tarOf = async (text: string) => buildTar([{ name: 'lib.jar', body: buildZip([{ name: 'big', body: Buffer.alloc(2 * MiB) }, { name: 'v', body: text }]) }]);
  const { report, left } = await diffWithin(await tarOf('1'), await tarOf('2'), { maxSpillBytes: MiB });
  assert.equal(tooLarge(report).map((d) => [d.path, d.kind === 'too-large' && d.detail.side]), [[['lib.jar'], 'both']]);
  assert.equal(left, []);
  const within = await diffWithin(await tarOf('1'), await tarOf('2'), { maxSpillBytes: 8 * MiB });
  assert.equal(within.report.differences.map((d) => d.path), [['lib.jar', 'v']]);
});

const cli = suite('kiln diff --max-spill');

cli('reads sizes in bytes or with binary suffixes; anything else is not a size', () => {
  assert.equal(['1048576', '1K', '1k', '512MiB', '2G', '1GB', '0', '8B'].map(parseByteSize), [MiB, 1024, 1024, 512 * MiB, 2 * 1024 * MiB, 1024 * MiB, 0, 8]);
  assert.equal(['', '-1', '1.5G', 'lots', '1X', '1iB'].map(parseByteSize), [undefined, undefined, undefined, undefined, undefined, undefined]);
});

cli('passes the budget to the diff (the finding shows in --json), and refuses a value that is not a size', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const [a, b] = await reorderedWithBomb(4 * MiB);
    await writeFile(join(dir, 'a.tar.gz'), gzip(a));
    await writeFile(join(dir, 'b.tar.gz'), gzip(b));
    const out: string[] = [];
    const io = { stdout: { write: (t: string) => void out.push(t) }, stderr: { write: () => {} } };
    assert.is(await runDiffCommand([join(dir, 'a.tar.gz'), join(dir, 'b.tar.gz'), '--json', '--max-spill', '1M'], io), 1);
    const json = JSON.parse(out.join('')) as DiffReport;
    assert.equal(json.differences.filter((d) => d.kind === 'too-large').map((d) => d.path), [['zeros']]);
    out.length = 0;
    assert.is(await runDiffCommand([join(dir, 'a.tar.gz'), join(dir, 'b.tar.gz'), '--max-spill', '1M'], io), 1);
    assert.match(out.join(''), 'too large to compare within the budget');
    out.length = 0;
    assert.is(await runDiffCommand([join(dir, 'a.tar.gz'), join(dir, 'b.tar.gz'), '--max-spill', '1G'], io), 1);
    assert.not.match(out.join(''), 'too large to compare');
    await rejectsWithCode(() => runDiffCommand([join(dir, 'a.tar.gz'), join(dir, 'b.tar.gz'), '--max-spill', 'lots'], io), 'KILN_USAGE');
  } finally {
    await cleanup();
  }
});

spill.run();
cli.run();
