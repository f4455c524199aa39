import { writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseLock, readLock } from '../../src/lock/index.js';
import { loadRecipe, parseRecipe, RecipeError } from '../../src/recipe/index.js';
import { KilnError } from '../../src/util/errors.js';
import { MAX_ATTESTATION_BYTES, MAX_LOCK_BYTES, MAX_POLICY_BYTES, MAX_RECIPE_BYTES } from '../../src/util/limits.js';
import { readFileBounded, readStreamBounded } from '../../src/util/read-bounded.js';
import { inspectAttestation, parseAttestationFile, parsePolicy, readAttestationFile, readPolicy, VerifyError } from '../../src/verify/index.js';
import { makeTempDir, rejectsWithCode, throwsWithCode } from '../helpers/index.js';
import { artifactOf, makeProvenance } from '../verify/provenance-helpers.js';

type Refusal = KilnError & { budget?: { name: string; limit: number } };

/** Text of exactly `bytes` bytes that starts like a document of its kind. */
const oversized = (head: string, bytes: number): string => head + ' '.repeat(bytes - head.length);

const documents = suite('document size budgets');

documents('a recipe one byte over maxRecipeBytes is refused before parsing, as text or as a file', async () => {
  const err = throwsWithCode<Refusal>(() => parseRecipe(oversized('kiln: 1\n', MAX_RECIPE_BYTES + 1), 'big/kiln.yaml'), 'KILN_RECIPE_TOO_LARGE');
  assert.instance(err, RecipeError);
  assert.equal(err.budget, { name: 'maxRecipeBytes', limit: MAX_RECIPE_BYTES });
  assert.is(err.exitCode, 2);
  // /dev/zero never ends: the reader stops one byte past the budget.
  const fromDevice = await rejectsWithCode<Refusal>(() => loadRecipe('/dev/zero'), 'KILN_RECIPE_TOO_LARGE');
  assert.is(fromDevice.budget?.name, 'maxRecipeBytes');
});

documents('a recipe of exactly maxRecipeBytes is parsed (the budget is inclusive)', () => {
  const text = oversized('kiln: 1\nname: t\nsourceDateEpoch: 0\nsteps: { s: { image: b, run: x } }\nartifacts: []\n#', MAX_RECIPE_BYTES);
  // Not a valid recipe (no image b, no artifacts): but refused by the checks, not by the budget.
  const err = throwsWithCode<RecipeError>(() => parseRecipe(text, 'kiln.yaml'), 'KILN_RECIPE_INVALID');
  assert.is.not(err.code, 'KILN_RECIPE_TOO_LARGE');
});

documents('a lock over maxLockBytes is refused, as text or as a file', async () => {
  const err = throwsWithCode<Refusal>(() => parseLock(oversized('{', MAX_LOCK_BYTES + 1), 'kiln.lock'), 'KILN_LOCK_TOO_LARGE');
  assert.equal(err.budget, { name: 'maxLockBytes', limit: MAX_LOCK_BYTES });
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeFile(join(dir, 'kiln.lock'), oversized('{', MAX_LOCK_BYTES + 1));
    const fromFile = await rejectsWithCode<Refusal>(() => readLock(join(dir, 'kiln.lock')), 'KILN_LOCK_TOO_LARGE');
    assert.is(fromFile.budget?.name, 'maxLockBytes');
  } finally {
    await cleanup();
  }
});

documents('a policy over maxPolicyBytes is refused, as text or as a file', async () => {
  const err = throwsWithCode<Refusal>(() => parsePolicy(oversized('kiln: 1\n', MAX_POLICY_BYTES + 1), 'p.yaml'), 'KILN_VERIFY_TOO_LARGE');
  assert.instance(err, VerifyError);
  assert.equal(err.budget, { name: 'maxPolicyBytes', limit: MAX_POLICY_BYTES });
  const fromDevice = await rejectsWithCode<Refusal>(() => readPolicy('/dev/zero'), 'KILN_VERIFY_TOO_LARGE');
  assert.is(fromDevice.budget?.name, 'maxPolicyBytes');
});

documents('an attestation over maxAttestationBytes is refused, as text or as a file', async () => {
  const err = throwsWithCode<Refusal>(() => parseAttestationFile(oversized('{', MAX_ATTESTATION_BYTES + 1), 'x.intoto.jsonl'), 'KILN_VERIFY_TOO_LARGE');
  assert.equal(err.budget, { name: 'maxAttestationBytes', limit: MAX_ATTESTATION_BYTES });
  const fromDevice = await rejectsWithCode<Refusal>(() => readAttestationFile('/dev/zero'), 'KILN_VERIFY_TOO_LARGE');
  assert.is(fromDevice.budget?.name, 'maxAttestationBytes');
});

const linear = suite('linear YAML');

linear('a recipe of 40,000 env keys parses, every key kept (the duplicate check is one Set per mapping)', () => {
  const keys = Array.from({ length: 40_000 }, (_, i) => `K${i}`);
  const text = [
    'kiln: 1', 'name: t', 'sourceDateEpoch: 0',
    `images: { b: { oci: "r.example/b@sha256:${'0'.repeat(64)}" } }`,
    'env:', ...keys.map((k) => `  ${k}: v`),
    'steps: { s: { image: b, run: "true" } }', 'artifacts: [{ from: s, path: x }]', '',
  ].join('\n');
  const recipe = parseRecipe(text, 'kiln.yaml');
  assert.is(Object.keys(recipe.env).length, keys.length);
  assert.is(recipe.env.K39999, 'v');
});

linear('keys that become one JS property (1 and "1") are a duplicate, reported where the second is written', () => {
  const text = ['kiln: 1', 'name: t', 'sourceDateEpoch: 0', 'env:', '  "1": a', '  1: b', ''].join('\n');
  const err = throwsWithCode<RecipeError>(() => parseRecipe(text, 'kiln.yaml'), 'KILN_RECIPE_DUPLICATE_KEY');
  assert.is(err.where?.line, 6);
  assert.match(err.message, /"1"/);
});

linear('the first duplicate in the text is the one reported, even inside a mapping that an outer duplicate follows', () => {
  const text = ['kiln: 1', 'name: t', 'env:', '  A: 1', '  A: 2', 'name: u', ''].join('\n');
  const err = throwsWithCode<RecipeError>(() => parseRecipe(text, 'kiln.yaml'), 'KILN_RECIPE_DUPLICATE_KEY');
  assert.is(err.where?.line, 5);
});

linear('a policy with a duplicate key is refused at the second key', () => {
  const err = throwsWithCode<VerifyError>(() => parsePolicy('kiln: 1\nrules: []\nkiln: 1\n', 'p.yaml'), 'KILN_VERIFY_BAD_POLICY');
  assert.is(err.where?.line, 3);
});

linear('kiln inspect reads the name and version of a large embedded recipe (an unsigned 1 MB envelope)', () => {
  const statement = makeProvenance([artifactOf('a.tar', 'a')]) as unknown as { predicate: { buildDefinition: { externalParameters: { recipe: { content: string } } } } };
  const lines = ['kiln: 1', 'name: big', 'version: "9.1"', 'env:'];
  for (let i = 0, length = 0; length < 900_000; i++) {
    const line = `  K${i}: v`;
    lines.push(line);
    length += line.length + 1;
  }
  statement.predicate.buildDefinition.externalParameters.recipe.content = lines.join('\n');
  const payload = Buffer.from(JSON.stringify(statement)).toString('base64');
  const text = JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload, signatures: [{ keyid: '', sig: 'AA==' }] });
  assert.ok(text.length > 1_000_000);
  const [e] = inspectAttestation(parseAttestationFile(text, 'big.json')).envelopes;
  assert.is(e?.recipe?.name, 'big');
  assert.is(e?.recipe?.version, '9.1');
});

const bounded = suite('readFileBounded');

bounded('reads a file up to the limit whole, and one byte past it not at all', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeFile(join(dir, 'f'), 'x'.repeat(10));
    assert.is((await readFileBounded(join(dir, 'f'), 10))?.toString(), 'x'.repeat(10));
    assert.is(await readFileBounded(join(dir, 'f'), 9), undefined);
    assert.is(await readFileBounded('/dev/zero', 1 << 16), undefined);
  } finally {
    await cleanup();
  }
});

bounded('readStreamBounded gathers a stream of the budget exactly, gives up one byte past it and leaves the stream there', async () => {
  const chunks = () => Readable.from([Buffer.from('xxxxx'), Buffer.from('xxxxx')]);
  assert.is((await readStreamBounded(chunks(), 10))?.toString(), 'x'.repeat(10));
  assert.is(await readStreamBounded(chunks(), 9), undefined);
  let produced = 0;
  const endless = new Readable({ read() { produced++; this.push(Buffer.alloc(1024)); } });
  assert.is(await readStreamBounded(endless, 1 << 16), undefined);
  assert.ok(endless.destroyed, 'the endless stream is destroyed once the budget is passed');
  assert.ok(produced < 1 << 10, 'reading stopped near the budget');
});

documents.run();
linear.run();
bounded.run();
