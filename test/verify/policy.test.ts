import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluatePolicy, parsePolicy, readPolicy, type PolicyContext } from '../../src/verify/index.js';
import { rejectsWithCode, repoRoot, throwsWithCode } from '../helpers/index.js';
import { artifactOf, makeProvenance } from './provenance-helpers.js';

type Located = Error & { code: string; where?: { file: string; line?: number; column?: number } };

const artifact = artifactOf('hello.tar', 'hello\n');
const statement = makeProvenance([artifact]);
const context: PolicyContext = {
  statement,
  predicate: statement.predicate,
  subject: statement.subject,
  artifacts: [{ name: artifact.name, size: artifact.size, sha256: artifact.digests.sha256, sha512: artifact.digests.sha512 }],
};

function policy(...rules: string[]): string {
  return ['kiln: 1', 'rules:', ...rules, ''].join('\n');
}

const parsePolicySuite = suite('parsePolicy');

parsePolicySuite('reads named rules with the line of each expression', () => {
  const p = parsePolicy(policy('  - name: a', '    description: first', '    expr: "true"', '  - name: b', '    expr: size(subject) == 1'), 'p.yaml');
  assert.equal(p.rules.map((r) => [r.name, r.where.line]), [['a', 5], ['b', 7]]);
  assert.is(p.rules[0]?.description, 'first');
});

parsePolicySuite('reads rebuilders as verifier ids or (id, key fingerprint) pairs; refuses a pair without a fingerprint', () => {
  const key = 'SHA256:' + 'A'.repeat(43);
  const text = ['kiln: 1', 'rules:', '  - { name: t, expr: "true" }', 'rebuilds:', '  minimum: 1', '  rebuilders:', '    - https://a.example.org/r', `    - { id: https://b.example.org/r, key: "${key}" }`, ''].join('\n');
  assert.equal(parsePolicy(text, 'p.yaml').rebuilds, { minimum: 1, rebuilders: ['https://a.example.org/r', { id: 'https://b.example.org/r', key }] });
  throwsWithCode(() => parsePolicy(text.replace(key, 'abc'), 'p.yaml'), 'KILN_VERIFY_BAD_POLICY');
});

parsePolicySuite('reports malformed YAML with file and line', () => {
  const err = throwsWithCode<Located>(() => parsePolicy('kiln: 1\nrules:\n  - name: a\n    expr: [unclosed\n', 'bad.yaml'), 'KILN_VERIFY_BAD_POLICY');
  assert.is(err.where?.file, 'bad.yaml');
  assert.ok((err.where?.line ?? 0) >= 4, `line ${err.where?.line}`);
});

parsePolicySuite('reports an unknown key at its line', () => {
  const err = throwsWithCode<Located>(() => parsePolicy(policy('  - name: a', '    expr: "true"', '    exrp: "false"'), 'p.yaml'), 'KILN_VERIFY_BAD_POLICY');
  assert.equal([err.where?.line, err.where?.column], [5, 5]);
  assert.match(err.message, /exrp/);
});

parsePolicySuite('reports a missing expr at the rule', () => {
  const err = throwsWithCode<Located>(() => parsePolicy(policy('  - name: a', '  - name: b', '    expr: "true"'), 'p.yaml'), 'KILN_VERIFY_BAD_POLICY');
  assert.is(err.where?.line, 3);
});

parsePolicySuite('rejects another format version', () => {
  throwsWithCode(() => parsePolicy('kiln: 2\nrules:\n  - name: a\n    expr: "true"\n', 'p.yaml'), 'KILN_VERIFY_BAD_POLICY');
});

parsePolicySuite('reports a CEL syntax error at the rule\'s expression line', () => {
  const err = throwsWithCode<Located>(() => parsePolicy(policy('  - name: ok', '    expr: "true"', '  - name: broken', '    expr: predicate.x == ('), 'p.yaml'), 'KILN_VERIFY_BAD_EXPRESSION');
  assert.is(err.where?.line, 6);
  assert.match(err.message, /broken/);
});

parsePolicySuite('rejects an unknown variable and an expression that is never a boolean', () => {
  throwsWithCode(() => parsePolicy(policy('  - name: a', '    expr: statment._type == "x"'), 'p.yaml'), 'KILN_VERIFY_BAD_EXPRESSION');
  throwsWithCode(() => parsePolicy(policy('  - name: a', '    expr: 1 + 2'), 'p.yaml'), 'KILN_VERIFY_BAD_EXPRESSION');
});

parsePolicySuite('rejects two rules of the same name', () => {
  const err = throwsWithCode<Located>(() => parsePolicy(policy('  - name: a', '    expr: "true"', '  - name: a', '    expr: "false"'), 'p.yaml'), 'KILN_VERIFY_BAD_POLICY');
  assert.is(err.where?.line, 5);
});

parsePolicySuite('the example policy passes kiln provenance of the example release', () => {
  const file = join(repoRoot(), 'examples', 'policy', 'hello.policy.yaml');
  const example = parsePolicy(readFileSync(file, 'utf8'), file);
  const release = artifactOf('hello-1.0.0.tar.gz', 'release');
  const provenance = makeProvenance([release]);
  const results = evaluatePolicy(example, {
    statement: provenance,
    predicate: provenance.predicate,
    subject: provenance.subject,
    artifacts: [{ name: release.name, size: release.size, sha256: release.digests.sha256, sha512: release.digests.sha512 }],
  });
  assert.ok(results.length >= 4);
  assert.equal(results.filter((r) => !r.passed), []);
  assert.is(evaluatePolicy(example, context).find((r) => r.name === 'only-the-release-tarball')?.passed, false);
});

const readPolicySuite = suite('readPolicy');

readPolicySuite('a missing file is KILN_VERIFY_UNREADABLE', async () => {
  await rejectsWithCode(() => readPolicy('/nonexistent/policy.yaml'), 'KILN_VERIFY_UNREADABLE');
});

const evaluatePolicySuite = suite('evaluatePolicy');

evaluatePolicySuite('passes true rules and names the false one', () => {
  const p = parsePolicy(
    policy(
      '  - name: kiln-buildtype',
      '    expr: predicate.buildDefinition.buildType == "https://kiln.example.org/buildtypes/recipe/v1"',
      '  - name: artifact-is-subject',
      '    expr: artifacts.all(a, subject.exists(s, s.digest.sha256 == a.sha256))',
      '  - name: built-by-ci',
      '    expr: predicate.runDetails.builder.id == "https://ci.example.org"',
    ),
    'p.yaml',
  );
  assert.equal(evaluatePolicy(p, context).map((r) => [r.name, r.passed]), [['kiln-buildtype', true], ['artifact-is-subject', true], ['built-by-ci', false]]);
});

evaluatePolicySuite('a rule that errors at run time fails with the reason, the others still run', () => {
  const p = parsePolicy(policy('  - name: missing', '    expr: predicate.nothing.here == 1', '  - name: fine', '    expr: has(predicate.runDetails)'), 'p.yaml');
  const [missing, fine] = evaluatePolicy(p, context);
  assert.is(missing?.passed, false);
  assert.match(missing!.reason, /^error:/);
  assert.is(fine?.passed, true);
});

evaluatePolicySuite('a rule that evaluates to something other than a boolean fails', () => {
  const p = parsePolicy(policy('  - name: string', '    expr: predicate.buildDefinition.buildType'), 'p.yaml');
  const [result] = evaluatePolicy(p, context);
  assert.is(result?.passed, false);
  assert.match(result!.reason, /not a boolean/);
});

parsePolicySuite.run();
readPolicySuite.run();
evaluatePolicySuite.run();
