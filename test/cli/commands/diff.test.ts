import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CliIO } from '../../../src/cli/io.js';
import { runCommand } from '../../../src/cli/main.js';
import { buildTar } from '../../helpers/archives.js';
import { makeTempDir, rejectsWithCode } from '../../helpers/index.js';

const runDiffCommand = (args: string[], cli: CliIO) => runCommand(['diff', ...args], cli);

const runDiffCommandSuite = suite('kiln diff');

function io() {
  const out: string[] = [];
  return { out, io: { stdout: { write: (t: string) => void out.push(t) }, stderr: { write: () => {} } } };
}

async function pair(dir: string, changed: boolean) {
  const a = join(dir, 'a.tar');
  const b = join(dir, 'b.tar');
  await writeFile(a, await buildTar([{ name: 'f', body: 'one\n' }]));
  await writeFile(b, await buildTar([{ name: 'f', body: changed ? 'two\n' : 'one\n' }]));
  return [a, b] as const;
}

runDiffCommandSuite('exits 0 for identical inputs', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const { out, io: cli } = io();
    assert.is(await runDiffCommand([...(await pair(dir, false))], cli), 0);
    assert.match(out.join(''), 'identical');
  } finally {
    await cleanup();
  }
});

runDiffCommandSuite('exits 1 for different inputs and prints the text report', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const { out, io: cli } = io();
    assert.is(await runDiffCommand([...(await pair(dir, true))], cli), 1);
    assert.match(out.join(''), '-one');
    assert.match(out.join(''), '+two');
  } finally {
    await cleanup();
  }
});

runDiffCommandSuite('prints JSON with --json and writes the page with --html', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const { out, io: cli } = io();
    const page = join(dir, 'report.html');
    assert.is(await runDiffCommand([...(await pair(dir, true)), '--json', '--html', page], cli), 1);
    const json = JSON.parse(out.join(''));
    assert.is(json.kiln, 'diff/v1');
    assert.equal(json.differences.map((d: { path: string[]; class: string }) => [d.path, d.class]), [[['f'], 'content']]);
    assert.match(await readFile(page, 'utf8'), '<!doctype html>');
  } finally {
    await cleanup();
  }
});

runDiffCommandSuite('throws KILN_DIFF_NOT_FOUND (exit 2) for a missing file', async () => {
  const err = await rejectsWithCode<{ exitCode: number }>(() => runDiffCommand(['/nonexistent/a', '/nonexistent/b'], io().io), 'KILN_DIFF_NOT_FOUND');
  assert.is(err.exitCode, 2);
});

runDiffCommandSuite('throws KILN_USAGE for a wrong number of paths or an unknown flag', async () => {
  await rejectsWithCode(() => runDiffCommand(['only-one'], io().io), 'KILN_USAGE');
  await rejectsWithCode(() => runDiffCommand(['a', 'b', '--frobnicate'], io().io), 'KILN_USAGE');
});

runDiffCommandSuite.run();
