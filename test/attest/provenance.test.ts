import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildProvenance,
  provenanceFromStatement,
  statementBytes,
  statementFromPayload,
  sriExtraDigests,
  BUILD_TYPE_KILN_RECIPE_V1,
  DEFAULT_BUILDER_ID,
  PREDICATE_SLSA_PROVENANCE_V1,
  STATEMENT_TYPE_V1,
  type KilnProvenancePredicate,
  type ResourceDescriptor,
  type Statement,
} from '../../src/attest/index.js';
import { repoRoot, throwsWithCode } from '../helpers/index.js';
import { FIXTURES, loadFixtureBuild } from './support.js';

const OPTIONS = { kilnVersion: '0.1.0', invocationId: 'urn:uuid:0b9c2d4e-0000-4000-8000-000000000001' };
const strip = (d: string) => d.slice('sha256:'.length);

function fixtureStatement(): Statement<KilnProvenancePredicate> {
  const { summary, recipe } = loadFixtureBuild();
  return buildProvenance(summary, recipe, OPTIONS);
}

const build = suite('buildProvenance');

build('is an in-toto Statement v1 with a SLSA provenance v1 predicate of kiln\'s buildType', () => {
  const s = fixtureStatement();
  assert.is(s._type, STATEMENT_TYPE_V1);
  assert.is(s.predicateType, PREDICATE_SLSA_PROVENANCE_V1);
  assert.is(s.predicate.buildDefinition.buildType, BUILD_TYPE_KILN_RECIPE_V1);
});

build('has every artifact as a subject with sha256 and sha512', () => {
  const { summary } = loadFixtureBuild();
  assert.equal(fixtureStatement().subject, [{ name: 'tool-2.1.0.tar.gz', digest: summary.artifacts[0]!.digests }]);
});

build('puts the recipe, its digest and its relative name in non-empty externalParameters', () => {
  const { recipe } = loadFixtureBuild();
  const external = fixtureStatement().predicate.buildDefinition.externalParameters;
  assert.ok(Object.keys(external).length > 0);
  assert.equal(external, { recipe: { path: 'kiln.yaml', digest: { sha256: strip(recipe.digest) }, content: readFileSync(join(FIXTURES(), 'kiln.yaml'), 'utf8') } });
  assert.is(createHash('sha256').update(external.recipe.content).digest('hex'), external.recipe.digest.sha256);
});

build('adds overrides beside the recipe', () => {
  const { summary, recipe } = loadFixtureBuild();
  const s = buildProvenance(summary, recipe, { ...OPTIONS, overrides: { jobs: '2' } });
  assert.is(s.predicate.buildDefinition.externalParameters.jobs, '2');
  assert.ok(s.predicate.buildDefinition.externalParameters.recipe);
});

build('refuses an override named recipe', () => {
  const { summary, recipe } = loadFixtureBuild();
  throwsWithCode(() => buildProvenance(summary, recipe, { ...OPTIONS, overrides: { recipe: 'x' } }), 'KILN_ATTEST_BAD_PROVENANCE');
});

build('records kiln version, sandbox profile, engine and platform as internalParameters', () => {
  const { summary } = loadFixtureBuild();
  assert.equal(fixtureStatement().predicate.buildDefinition.internalParameters, {
    kilnVersion: '0.1.0',
    sandboxProfile: summary.sandboxProfile,
    engine: 'docker 20.10.24+dfsg1',
    platform: 'linux/amd64',
    sourceDateEpoch: 1700000000,
  });
});

build('takes the engine version from the options when given, null included', () => {
  const { summary, recipe } = loadFixtureBuild();
  assert.is(buildProvenance(summary, recipe, { ...OPTIONS, engineVersion: null }).predicate.buildDefinition.internalParameters!.engine, null);
  assert.is(buildProvenance(summary, recipe, { ...OPTIONS, engineVersion: 'docker 27.0' }).predicate.buildDefinition.internalParameters!.engine, 'docker 27.0');
});

build('lists every input with uri, digest (plus the SRI\'s sha512) and annotations', () => {
  const { summary } = loadFixtureBuild();
  const deps = fixtureStatement().predicate.buildDefinition.resolvedDependencies!;
  const inputs = deps.filter((d) => d.name?.startsWith('input:'));
  assert.equal(inputs.map((d) => d.name).sort(), Object.keys(summary.inputs).map((n) => `input:${n}`).sort());
  const lib = inputs.find((d) => d.name === 'input:lib')!;
  assert.equal(lib, {
    uri: 'https://downloads.example.org/lib-1.0.tar.gz',
    name: 'input:lib',
    digest: { sha256: strip(summary.inputs.lib!.digest), sha512: Buffer.from(summary.inputs.lib!.integrity.slice('sha512-'.length), 'base64').toString('hex') },
    annotations: { kind: 'url', integrity: summary.inputs.lib!.integrity },
  });
  const busybox = inputs.find((d) => d.name === 'input:busybox')!;
  assert.is(busybox.uri, 'pkg:deb/debian/busybox-static@1%3A1.35.0-4%2Bdeb12u1%2Bb1?arch=amd64');
  assert.equal(Object.keys(busybox.digest!), ['sha256']);
});

build('lists every image: trees by digest with where they came from, oci by reference', () => {
  const { summary } = loadFixtureBuild();
  const images = fixtureStatement().predicate.buildDefinition.resolvedDependencies!.filter((d) => d.name?.startsWith('image:'));
  const byName = Object.fromEntries(images.map((d) => [d.name, d])) as Record<string, ResourceDescriptor>;
  assert.equal(Object.keys(byName).sort(), ['image:base', 'image:gcc', 'image:stage0']);
  assert.equal(byName['image:stage0'], { name: 'image:stage0', digest: { sha256: strip(summary.images.stage0!.tree!) }, annotations: { kind: 'rootfs', from: 'busybox' } });
  assert.equal(byName['image:base'], { name: 'image:base', digest: { sha256: strip(summary.images.base!.tree!) }, annotations: { kind: 'step', from: 'rootfs' } });
  assert.equal(byName['image:gcc'], {
    uri: `oci://${summary.images.gcc!.ref}`,
    name: 'image:gcc',
    digest: { sha256: '1'.repeat(64) },
    annotations: { kind: 'oci', ref: summary.images.gcc!.ref },
  });
});

build('has a byproduct per step, in recipe order, with output tree, action key and log', () => {
  const { summary } = loadFixtureBuild();
  const byproducts = fixtureStatement().predicate.runDetails.byproducts!;
  assert.equal(byproducts.map((b) => b.name), ['step:rootfs', 'step:compile', 'step:package']);
  const compile = summary.steps.compile!;
  assert.equal(byproducts[1], {
    name: 'step:compile',
    digest: { sha256: strip(compile.outputTree) },
    annotations: { actionKey: compile.actionKey, log: compile.log, image: compile.image, cached: false },
  });
});

build('has the builder id (default or configured), version and metadata', () => {
  const { summary, recipe } = loadFixtureBuild();
  const s = fixtureStatement();
  assert.equal(s.predicate.runDetails.builder, { id: DEFAULT_BUILDER_ID, version: { kiln: '0.1.0' } });
  assert.equal(s.predicate.runDetails.metadata, { invocationId: OPTIONS.invocationId, startedOn: summary.timings.startedOn, finishedOn: summary.timings.finishedOn });
  const custom = buildProvenance(summary, recipe, { ...OPTIONS, builderId: 'https://ci.example.org/kiln' });
  assert.is(custom.predicate.runDetails.builder.id, 'https://ci.example.org/kiln');
});

build('leaks no absolute path of the building machine', () => {
  assert.not.match(JSON.stringify(fixtureStatement()), /\/home\/someone/);
});

build('refuses a summary of another recipe', () => {
  const { summary, recipe } = loadFixtureBuild();
  throwsWithCode(() => buildProvenance({ ...summary, recipe: { ...summary.recipe, digest: `sha256:${'0'.repeat(64)}` } }, recipe, OPTIONS), 'KILN_ATTEST_RECIPE_MISMATCH');
});

build('refuses a summary step the recipe does not have', () => {
  const { summary, recipe } = loadFixtureBuild();
  const steps = { ...summary.steps, ghost: summary.steps.compile! };
  throwsWithCode(() => buildProvenance({ ...summary, steps }, recipe, OPTIONS), 'KILN_ATTEST_RECIPE_MISMATCH');
});

build('survives serialization: the signed bytes parse back to the same statement', () => {
  const s = fixtureStatement();
  assert.equal(statementFromPayload(statementBytes(s)), s);
});

const sri = suite('sriExtraDigests');

sri('converts sha384 and sha512 hashes to hex and ignores sha256 and options', () => {
  const h512 = createHash('sha512').update('x').digest();
  const h384 = createHash('sha384').update('x').digest();
  assert.equal(sriExtraDigests(`sha256-${'A'.repeat(43)}= sha512-${h512.toString('base64')}?opt sha384-${h384.toString('base64')}`), {
    sha512: h512.toString('hex'),
    sha384: h384.toString('hex'),
  });
  assert.equal(sriExtraDigests('sha256-abc='), {});
});

const read = suite('provenanceFromStatement');

read('returns the recipe, inputs, images and steps of a kiln provenance', () => {
  const { summary } = loadFixtureBuild();
  const p = provenanceFromStatement(statementFromPayload(statementBytes(fixtureStatement())));
  assert.is(p.builderId, DEFAULT_BUILDER_ID);
  assert.equal(p.recipe, { path: 'kiln.yaml', digest: summary.recipe.digest, content: readFileSync(join(FIXTURES(), 'kiln.yaml'), 'utf8') });
  assert.equal(p.overrides, {});
  assert.equal(p.inputs.map((i) => i.name), ['busybox', 'src', 'lib']);
  assert.equal(p.inputs[2]!.digest.sha256, strip(summary.inputs.lib!.digest));
  assert.equal(p.images.find((i) => i.name === 'gcc'), { name: 'gcc', kind: 'oci', digest: `sha256:${'1'.repeat(64)}`, ref: summary.images.gcc!.ref });
  assert.equal(p.images.find((i) => i.name === 'base'), { name: 'base', kind: 'step', digest: summary.images.base!.tree!, from: 'rootfs' });
  assert.equal(
    p.steps.map((s) => [s.name, s.outputTree, s.actionKey, s.cached]),
    ['rootfs', 'compile', 'package'].map((n) => [n, summary.steps[n]!.outputTree, summary.steps[n]!.actionKey, summary.steps[n]!.cached]),
  );
  assert.is(p.internal.sandboxProfile, summary.sandboxProfile);
  assert.is(p.metadata.invocationId, OPTIONS.invocationId);
  assert.equal(p.subjects, fixtureStatement().subject);
});

read('returns the overrides apart from the recipe', () => {
  const { summary, recipe } = loadFixtureBuild();
  const p = provenanceFromStatement(buildProvenance(summary, recipe, { ...OPTIONS, overrides: { jobs: '2' } }));
  assert.equal(p.overrides, { jobs: '2' });
});

read('ignores dependencies and byproducts that are not kiln\'s', () => {
  const s = fixtureStatement();
  s.predicate.buildDefinition.resolvedDependencies!.push({ uri: 'git+https://example.org/x', digest: { gitCommit: 'c'.repeat(40) } });
  s.predicate.runDetails.byproducts!.push({ name: 'other', digest: { sha256: 'd'.repeat(64) } });
  const p = provenanceFromStatement(s);
  assert.is(p.inputs.length, 3);
  assert.is(p.steps.length, 3);
});

read('refuses an embedded recipe that does not match its digest', () => {
  const s = fixtureStatement();
  s.predicate.buildDefinition.externalParameters.recipe.content += '# changed\n';
  throwsWithCode(() => provenanceFromStatement(s), 'KILN_ATTEST_RECIPE_MISMATCH');
});

read('refuses provenance of another buildType with its own code', () => {
  const s = fixtureStatement();
  s.predicate.buildDefinition.buildType = 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1';
  throwsWithCode(() => provenanceFromStatement(s), 'KILN_ATTEST_BUILD_TYPE');
});

read('refuses another predicate type', () => {
  throwsWithCode(() => provenanceFromStatement({ ...fixtureStatement(), predicateType: 'https://slsa.dev/verification_summary/v1' }), 'KILN_ATTEST_BAD_PROVENANCE');
});

for (const [name, mutate] of [
  ['no externalParameters.recipe', (s: Statement<KilnProvenancePredicate>) => void delete (s.predicate.buildDefinition.externalParameters as Partial<typeof s.predicate.buildDefinition.externalParameters>).recipe],
  ['a recipe digest that is not hex', (s: Statement<KilnProvenancePredicate>) => void (s.predicate.buildDefinition.externalParameters.recipe.digest.sha256 = 'zz')],
  ['a step without an action key', (s: Statement<KilnProvenancePredicate>) => void delete s.predicate.runDetails.byproducts![0]!.annotations!.actionKey],
  ['an image of an unknown kind', (s: Statement<KilnProvenancePredicate>) => void (s.predicate.buildDefinition.resolvedDependencies![3]!.annotations!.kind = 'vm')],
  ['an input without a uri', (s: Statement<KilnProvenancePredicate>) => void delete s.predicate.buildDefinition.resolvedDependencies![0]!.uri],
  ['no builder id', (s: Statement<KilnProvenancePredicate>) => void delete (s.predicate.runDetails.builder as { id?: string }).id],
] as const) {
  read(`refuses ${name}`, () => {
    const s = fixtureStatement();
    mutate(s);
    throwsWithCode(() => provenanceFromStatement(s), 'KILN_ATTEST_BAD_PROVENANCE');
  });
}

const doc = suite('docs/buildtypes/recipe-v1.md');

doc('its complete example is kiln provenance that reads back, recipe digest included', () => {
  const text = readFileSync(join(repoRoot(), 'docs', 'buildtypes', 'recipe-v1.md'), 'utf8');
  const example = /## Example[\s\S]*?```json\n([\s\S]*?)\n```/.exec(text);
  assert.ok(example, 'an Example section with a json block');
  const statement = statementFromPayload(Buffer.from(example![1]!));
  const p = provenanceFromStatement(statement);
  assert.is(p.recipe.path, 'kiln.yaml');
  assert.ok(p.steps.length > 0 && p.inputs.length > 0 && p.images.length > 0);
  assert.ok(statement.subject.every((s) => s.digest.sha256 && s.digest.sha512));
});

build.run();
doc.run();
sri.run();
read.run();
