import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot } from '../helpers/index.js';
import { pinnedVersions } from '../helpers/peers.js';
import { INTEROP_DOC, parseInteropTable } from './support.js';

/**
 * docs/interop.md stays true: its versions are the pinned ones (which test/helpers/peers.ts
 * insists are installed), every row is run by an interop test (which asserts the row's
 * result), and every row a test names exists.
 */

const table = suite('docs/interop.md');
const rows = parseInteropTable(readFileSync(INTEROP_DOC, 'utf8'));
const testDir = join(repoRoot(), 'test', 'interop');
const sources = readdirSync(testDir)
  .filter((f) => f.endsWith('.test.ts') && f !== 'table.test.ts')
  .map((f) => ({ file: f, text: readFileSync(join(testDir, f), 'utf8') }));

table('has rows, each with a unique case id', () => {
  assert.ok(rows.length >= 20, `${rows.length} rows`);
  const ids = rows.map((r) => r.id);
  assert.equal([...new Set(ids)].sort(), [...ids].sort(), 'case ids are unique');
});

table('names every tool at the version scripts/test-peers.* pins', () => {
  const pins = pinnedVersions();
  for (const row of rows) {
    assert.ok(pins[row.tool] !== undefined, `row ${row.id}: no pin for tool "${row.tool}"`);
    assert.is(row.version, pins[row.tool], `row ${row.id}: ${row.tool} ${row.version}, pinned ${pins[row.tool]}`);
  }
  for (const tool of ['cosign', 'slsa-verifier', 'securesystemslib', 'in-toto-attestation', 'sigstore', 'cyclonedx-python-lib']) {
    assert.ok(rows.some((r) => r.tool === tool), `no row for ${tool}`);
  }
});

table('every row is run by an interop test, and every row a test runs is in the table', () => {
  for (const row of rows) {
    assert.ok(sources.some((s) => s.text.includes(`'${row.id}'`)), `row ${row.id} is run by no test in test/interop/`);
  }
  for (const { file, text } of sources) {
    for (const m of text.matchAll(/expectRow\('([a-z0-9-]+)'/g)) {
      assert.ok(rows.some((r) => r.id === m[1]), `${file} runs row ${m[1]}, which docs/interop.md does not have`);
    }
  }
});

table('every command starts with a program the runner knows, and peers\' commands start with the peer', () => {
  const programs: Record<string, string[]> = {
    cosign: ['cosign'],
    'slsa-verifier': ['slsa-verifier'],
    securesystemslib: ['python'],
    'in-toto-attestation': ['python'],
    'cyclonedx-python-lib': ['python'],
    sigstore: ['python', 'sigstore'],
  };
  for (const row of rows) {
    const first = row.command.split(/\s+/)[0]!;
    assert.ok(programs[row.tool]?.includes(first), `row ${row.id}: ${row.tool}'s command starts with ${first}`);
  }
});

table('parses a well-formed row and refuses a row whose result is not a verdict', () => {
  const ok = parseInteropTable('| case | tool | version | command | kiln file | result |\n| --- | --- | --- | --- | --- | --- |\n| a | cosign | v1 | `cosign x` | f | rejected: why |\n');
  assert.equal(ok, [{ id: 'a', tool: 'cosign', version: 'v1', command: 'cosign x', kilnFile: 'f', expected: 'rejected', result: 'rejected: why' }]);
  assert.throws(() => parseInteropTable('| a | cosign | v1 | `cosign x` | f | maybe |\n'), /must start with "accepted" or "rejected"/);
});

table.run();
