import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { BuildSummary } from '../../src/builder/index.js';
import { differingArtifacts, minimizeSubset } from '../../src/check/index.js';

function summary(artifacts: Record<string, string>): BuildSummary {
  return { artifacts: Object.entries(artifacts).map(([name, sha256]) => ({ name, from: 's', size: 1, digests: { sha256, sha512: sha256 } })) } as unknown as BuildSummary;
}

const differing = suite('differingArtifacts');

differing('names artifacts whose digest differs, and ones only one side has', () => {
  assert.equal(differingArtifacts(summary({ a: '1', b: '2', c: '3' }), summary({ a: '1', b: 'x', d: '4' })), ['b', 'c', 'd']);
});

differing('a failed build differs on every artifact, limited to those asked about', () => {
  assert.equal(differingArtifacts(summary({ a: '1', b: '2' }), undefined), ['a', 'b']);
  assert.equal(differingArtifacts(summary({ a: '1', b: '2' }), undefined, new Set(['b'])), ['b']);
});

const minimize = suite('minimizeSubset');

minimize('finds the pair that only together makes a difference', async () => {
  const tried: string[][] = [];
  const found = await minimizeSubset(['a', 'b', 'c', 'd', 'e', 'f'], async (s) => {
    tried.push(s);
    return s.includes('b') && s.includes('e');
  }, 20);
  assert.equal(found, ['b', 'e']);
  assert.ok(tried.length <= 20);
});

minimize('stops at the budget', async () => {
  let n = 0;
  await minimizeSubset(['a', 'b', 'c', 'd'], async () => (n++, true), 2);
  assert.is(n, 2);
});

differing.run();
minimize.run();
