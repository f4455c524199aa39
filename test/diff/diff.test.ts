import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { diff } from '../../src/diff/index.js';
import { makeTempDir } from '../helpers/index.js';

const diffSuite = suite('diff');

diffSuite('returns the report, and writes the HTML page only when asked', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeFile(join(dir, 'a.txt'), 'one\n');
    await writeFile(join(dir, 'b.txt'), 'two\n');
    const quiet = await diff(join(dir, 'a.txt'), join(dir, 'b.txt'));
    assert.is(quiet.identical, false);
    assert.equal((await readdir(dir)).sort(), ['a.txt', 'b.txt']);
    const paged = await diff(join(dir, 'a.txt'), join(dir, 'b.txt'), { html: join(dir, 'report.html') });
    assert.equal(paged.differences, quiet.differences);
    assert.match(await readFile(join(dir, 'report.html'), 'utf8'), '<!doctype html>');
  } finally {
    await cleanup();
  }
});

diffSuite.run();
