import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { BuildSummary } from '../../src/builder/index.js';
import { compareRebuild, type ExpectedBuild } from '../../src/rebuild/compare.js';

const hex = (c: string) => c.repeat(64);

function summary(artifactSha: string, trees: Record<string, string>): BuildSummary {
  return {
    kiln: 'build/v1',
    recipe: { name: 'r', file: '/r/kiln.yaml', digest: `sha256:${hex('0')}` },
    sourceDateEpoch: 0,
    platform: 'linux/amd64',
    sandboxProfile: `sha256:${hex('9')}`,
    engine: null,
    artifacts: [{ name: 'a.tar', from: 'pack', size: 1, digests: { sha256: artifactSha, sha512: 'f'.repeat(128) } }],
    steps: Object.fromEntries(
      Object.entries(trees).map(([s, t]) => [s, { actionKey: `sha256:${hex('1')}`, outputTree: `sha256:${t}`, log: `sha256:${hex('2')}`, image: 'x', cached: false, exitCode: 0, durationMs: 1 }]),
    ),
    inputs: {},
    images: {},
    timings: { startedOn: '', finishedOn: '', durationMs: 0, fetchMs: 0 },
  };
}

const expected: ExpectedBuild = {
  subjects: [{ name: 'a.tar', digest: { sha256: hex('a'), sha512: 'f'.repeat(128) } }],
  stepOutputs: { compile: hex('c'), pack: hex('d') },
};

const compare = suite('compareRebuild');

compare('identical digests: reproduced, no divergent step', () => {
  const r = compareRebuild(expected, summary(hex('a'), { compile: hex('c'), pack: hex('d') }), ['compile', 'pack']);
  assert.is(r.reproduced, true);
  assert.is(r.firstDivergentStep, undefined);
});

compare('names the first step in build order whose output differs, not a later one', () => {
  const r = compareRebuild(expected, summary(hex('b'), { compile: hex('e'), pack: hex('f') }), ['compile', 'pack']);
  assert.is(r.reproduced, false);
  assert.is(r.firstDivergentStep?.step, 'compile');
  assert.is(r.artifacts[0]!.reproduced, false);
});

compare('a differing sha512 fails even when sha256 matches', () => {
  const r = compareRebuild(
    { ...expected, subjects: [{ name: 'a.tar', digest: { sha256: hex('a'), sha512: 'e'.repeat(128) } }] },
    summary(hex('a'), { compile: hex('c'), pack: hex('d') }),
    ['compile', 'pack'],
  );
  assert.is(r.reproduced, false);
});

compare('a missing artifact is not reproduced; an extra one is listed', () => {
  const r = compareRebuild({ ...expected, subjects: [{ name: 'b.tar', digest: { sha256: hex('a') } }] }, summary(hex('a'), { compile: hex('c') }), ['compile']);
  assert.is(r.reproduced, false);
  assert.equal(r.extraArtifacts, ['a.tar']);
  assert.is(r.artifacts[0]!.actual, undefined);
});

compare('a subject name listed twice is not one to one, even when one of the two digests matches', () => {
  const r = compareRebuild(
    { ...expected, subjects: [...expected.subjects, { name: 'a.tar', digest: { sha256: hex('e') } }] },
    summary(hex('a'), { compile: hex('c'), pack: hex('d') }),
    ['compile', 'pack'],
  );
  assert.is(r.oneToOne, false);
  assert.equal(r.repeatedSubjects, ['a.tar']);
  assert.is(r.reproduced, false);
});

compare('an artifact the provenance leaves out makes the rebuild FAILED, not PASSED for the rest', () => {
  const s = summary(hex('a'), { compile: hex('c'), pack: hex('d') });
  s.artifacts.push({ name: 'b.tar', from: 'pack', size: 1, digests: { sha256: hex('b'), sha512: 'f'.repeat(128) } });
  const r = compareRebuild(expected, s, ['compile', 'pack']);
  assert.is(r.artifacts[0]!.reproduced, true);
  assert.is(r.oneToOne, false);
  assert.is(r.reproduced, false);
});

compare('names that are Object.prototype members are names like any other', () => {
  const s = summary(hex('a'), { constructor: hex('c') });
  s.artifacts[0]!.name = 'constructor';
  const r = compareRebuild({ subjects: [{ name: 'constructor', digest: { sha256: hex('a') } }], stepOutputs: { constructor: hex('c') } }, s, ['constructor', 'toString']);
  assert.is(r.reproduced, true);
  assert.equal(r.steps.map((x) => x.step), ['constructor']);
});

compare.run();
