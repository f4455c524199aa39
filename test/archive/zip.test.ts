import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openFileRange, type RangeSource } from '../../src/archive/range.js';
import { MAX_ZIP_LINK_TARGET, openZip, type ZipEntry } from '../../src/archive/zip.js';
import { buildZip, type ZipSpec } from '../helpers/archives.js';
import { makeTempDir } from '../helpers/index.js';
import { createMemoryStore } from '../helpers/memory-store.js';

const SPECS: ZipSpec[] = [
  { name: 'dir/', unixMode: 0o40755 },
  { name: 'dir/run.sh', body: '#!/bin/sh\n', unixMode: 0o100755 },
  { name: 'dir/link', body: 'run.sh', unixMode: 0o120777 },
  { name: 'dos.txt', body: 'no unix mode' },
  { name: 'far', body: 'x'.repeat(MAX_ZIP_LINK_TARGET + 1), unixMode: 0o120777 },
];

/** Every entry's name, type, mode and data (a symlink's target), read from `source`. */
async function listing(source: RangeSource): Promise<Array<[string, ZipEntry['type'], number | undefined, string | undefined]>> {
  const zip = await openZip(source);
  try {
    const out: Array<[string, ZipEntry['type'], number | undefined, string | undefined]> = [];
    for await (const entry of zip.entries()) {
      let data: string | undefined;
      if (entry.type === 'symlink') data = await zip.readLinkTarget(entry);
      else if (entry.type === 'file') {
        const chunks: Buffer[] = [];
        for await (const c of await zip.openEntry(entry)) chunks.push(c as Buffer);
        data = Buffer.concat(chunks).toString();
      }
      out.push([entry.name, entry.type, entry.mode, data]);
    }
    return out;
  } finally {
    zip.close();
  }
}

const EXPECTED = [
  ['dir/', 'directory', 0o755, undefined],
  ['dir/run.sh', 'file', 0o755, '#!/bin/sh\n'],
  ['dir/link', 'symlink', 0o777, 'run.sh'],
  ['dos.txt', 'file', undefined, 'no unix mode'],
  ['far', 'symlink', 0o777, undefined],
];

const openZipSuite = suite('openZip');

openZipSuite('reads the central directory and the data from a store blob opened for random access', async () => {
  const store = createMemoryStore();
  const { digest } = await store.putBytes(buildZip(SPECS));
  const blob = await store.openRandomAccess(digest);
  try {
    assert.equal(await listing(blob), EXPECTED);
  } finally {
    await blob.close();
  }
});

openZipSuite('reads the same from a range of a file (a zip inside another archive, spilled)', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const zip = buildZip(SPECS);
    const file = join(dir, 'spill');
    await writeFile(file, Buffer.concat([Buffer.from('before'), zip, Buffer.from('after')]));
    const source = await openFileRange(file, { offset: 6, size: zip.length });
    try {
      assert.equal(await listing(source), EXPECTED);
    } finally {
      await source.close();
    }
  } finally {
    await cleanup();
  }
});

openZipSuite('reads an empty zip (its end record alone)', async () => {
  const store = createMemoryStore();
  const { digest } = await store.putBytes(buildZip([]));
  const blob = await store.openRandomAccess(digest);
  assert.equal(await listing(blob), []);
  await blob.close();
});

openZipSuite.run();
