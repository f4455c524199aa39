import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ArchiveError } from '../../src/archive/errors.js';
import { detectArchiveFormat, detectFormat, FORMAT_HEAD_BYTES, type ContentFormat } from '../../src/archive/format.js';
import { normalizeBlob } from '../../src/archive/normalize.js';
import { unpackArchive } from '../../src/archive/unpack.js';
import { diffPaths } from '../../src/diff/compare.js';
import { detectFormat as detectFormatOfDiff } from '../../src/diff/index.js';
import { buildAr, buildDeb, buildTar, buildV7Tar, buildZip, compressWith, gzip, TAR_END, tarMember } from '../helpers/archives.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { createMemoryStore } from '../helpers/memory-store.js';

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

detectFormatSuite('tells ustar, GNU, pax and v7 tars alike', async () => {
  assert.is(detectFormat(tarMember({ name: 'a', magic: 'gnu' }, 'a')), 'tar');
  assert.is(detectFormat(await buildTar([{ name: 'a', body: 'a', pax: { k: 'v' } }])), 'tar');
  assert.is(detectFormat(buildV7Tar()), 'tar');
  const wrong = buildV7Tar();
  wrong[0] = 'j'.charCodeAt(0);
  assert.is(detectFormat(wrong), undefined, 'no magic and a wrong checksum: not a tar');
});

const detectArchiveFormatSuite = suite('detectArchiveFormat');

detectArchiveFormatSuite('is detectFormat, read as what unpack makes of it', async () => {
  const tar = await buildTar([{ name: 'a', body: 'a' }]);
  const expected: Array<[Buffer, ContentFormat | undefined, string | undefined]> = [
    [tar, 'tar', 'tar'],
    [buildV7Tar(), 'tar', 'tar'],
    [gzip(tar), 'gzip', 'tar.gz'],
    [await compressWith('xz', tar), 'xz', 'tar.xz'],
    [await compressWith('bzip2', tar), 'bzip2', 'tar.bz2'],
    [await compressWith('zstd', tar), 'zstd', undefined],
    [buildZip([]), 'zip', 'zip'],
    [buildAr([{ name: 'debian-binary', body: '2.0\n' }]), 'ar', 'deb'],
    [Buffer.from('text'), undefined, undefined],
  ];
  for (const [bytes, format, unpacked] of expected) {
    assert.is(detectFormat(bytes), format);
    assert.is(detectArchiveFormat(bytes), unpacked);
  }
});

/** One sample per format, holding a member `a` with `body` (when the format has members). */
const SAMPLES: Array<[string, (body: string) => Promise<Buffer>]> = [
  ['ustar tar', (body) => buildTar([{ name: 'a', body }])],
  ['GNU tar', async (body) => Buffer.concat([tarMember({ name: 'a', magic: 'gnu' }, body), TAR_END])],
  ['pax tar', (body) => buildTar([{ name: 'a', body, pax: { comment: 'pax' } }])],
  ['v7 tar', async (body) => buildV7Tar({ a: body })],
  ['tar.gz', async (body) => gzip(await buildTar([{ name: 'a', body }]))],
  ['tar.xz', async (body) => compressWith('xz', await buildTar([{ name: 'a', body }]))],
  ['tar.bz2', async (body) => compressWith('bzip2', await buildTar([{ name: 'a', body }]))],
  ['tar.zst', async (body) => compressWith('zstd', await buildTar([{ name: 'a', body }]))],
  ['zip', async (body) => buildZip([{ name: 'a', body }])],
  ['deb', async (body) => buildDeb(gzip(await buildTar([{ name: 'a', body }])))],
  ['text', async (body) => Buffer.from(`a text, ${body}\n`)],
];

const consumers = suite('one detector: unpack, normalize and kiln diff agree on every format');

consumers('kiln diff exports the archive layer\'s detectFormat itself', () => {
  assert.is(detectFormatOfDiff, detectFormat);
});

for (const [kind, make] of SAMPLES) {
  consumers(`${kind}: unpacked, normalized and opened by kiln diff exactly as detectFormat says`, async () => {
    const one = await make('one');
    const format = detectFormat(one.subarray(0, FORMAT_HEAD_BYTES));
    const store = createMemoryStore();
    const { digest } = await store.putBytes(one);
    if (detectArchiveFormat(one) === undefined) {
      await rejectsWithCode<ArchiveError>(() => unpackArchive(store, digest, { label: kind }), 'KILN_ARCHIVE_UNSUPPORTED');
    } else {
      const { manifest } = await unpackArchive(store, digest, { label: kind });
      assert.ok(manifest.entries.length > 0, `${kind} unpacks to a tree`);
    }
    const normalized = await normalizeBlob(store, digest, { sourceDateEpoch: 1_700_000_000 });
    assert.is(normalized !== undefined, format === 'tar' || format === 'gzip', `${kind} is normalized when it is a tar or a gzip`);
    const { dir, cleanup } = await makeTempDir();
    try {
      await writeFile(join(dir, 'one'), one);
      await writeFile(join(dir, 'two'), await make('two'));
      const report = await diffPaths(join(dir, 'one'), join(dir, 'two'));
      const opened = report.differences.some((d) => d.path.length > 0);
      assert.is(opened, format !== undefined, `${kind}: kiln diff looks inside (${JSON.stringify(report.differences.map((d) => [d.path, d.kind]))})`);
    } finally {
      await cleanup();
    }
  });
}

detectFormatSuite.run();
detectArchiveFormatSuite.run();
consumers.run();
