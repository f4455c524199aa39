import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fetchInputs } from '../../src/fetch/index.js';
import { applyLock, loadBuildRecipe, lockChanges, lockRecipe, parseLock } from '../../src/lock/index.js';
import { parseRecipe } from '../../src/recipe/index.js';
import { createStore } from '../../src/store/index.js';
import { makeTempDir, rejectsWithCode, repoRoot, throwsWithCode } from '../helpers/index.js';
import { writeSourcePackage } from '../fetch/debsrc-fixture.js';
import { makeRepo } from '../fetch/git-repo.js';
import { startNpmRegistry, useRegistry } from '../fetch/npm-registry.js';
import { startServer } from '../fetch/support.js';

const OCI = `busybox@sha256:${'a'.repeat(64)}`;

function recipeText(o: { npm: string; git: string; dsc: string; url: string; run?: string }): string {
  return `kiln: 1
name: t
sourceDateEpoch: 0
inputs:
  left-pad: { npm: "left-pad@^1.0.0" }
  tool: { git: "${o.git}", ref: v1 }
  hello-src: { debsrc: "hello=1.0-1", dsc: "${o.dsc}" }
  data: { url: "${o.url}" }
  notes: { path: notes.txt }
images:
  base: { oci: "${OCI}" }
steps:
  build: { image: base, inputs: [left-pad, tool, hello-src, data, notes], run: "${o.run ?? 'make'}" }
artifacts:
  - { from: build, path: out }
`;
}

/** A recipe folder with unpinned inputs of every kind that needs no apt sources, and their servers. */
async function setup(dir: string) {
  const registry = await startNpmRegistry('left-pad', ['1.2.0', '1.3.0', '2.0.0']);
  const restore = useRegistry(registry.url, dir);
  const data = await startServer({ '/data.bin': (_q, s) => s.writeHead(200).end('data bytes') });
  const repo = await makeRepo(dir);
  const pkg = await writeSourcePackage(dir);
  await writeFile(join(dir, 'notes.txt'), 'notes\n');
  const o = { npm: 'left-pad@^1.0.0', git: repo.url, dsc: pkg.dscUrl, url: `${data.url}/data.bin` };
  await writeFile(join(dir, 'kiln.yaml'), recipeText(o));
  return {
    o,
    repo,
    registry,
    store: await createStore({ root: join(dir, 'store') }),
    close: async () => {
      restore();
      await registry.close();
      await data.close();
    },
  };
}

const LockRecipe = suite('lockRecipe');

LockRecipe('resolves unpinned inputs of every kind into kiln.lock; a locked build then fetches them all', async () => {
  const { dir, cleanup } = await makeTempDir();
  const env = await setup(dir);
  try {
    const result = await lockRecipe(join(dir, 'kiln.yaml'), { store: env.store });
    assert.is(result.lockFile, join(dir, 'kiln.lock'));
    const text = await readFile(result.lockFile, 'utf8');
    const lock = parseLock(text, result.lockFile);
    assert.is(lock.inputs['left-pad']?.version, '1.3.0');
    assert.is(lock.inputs['left-pad']?.integrity, env.registry.integrity['1.3.0']);
    assert.is(lock.inputs.tool?.commit, env.repo.first);
    assert.is(lock.inputs['hello-src']?.files?.length, 2);
    assert.equal(Object.keys(lock.inputs).sort(), ['data', 'hello-src', 'left-pad', 'notes', 'tool']);
    assert.equal(lock.images, { base: { oci: OCI } });
    assert.equal(result.changed.length, 6);
    assert.ok(text.indexOf('"images"') < text.indexOf('"inputs"') && text.startsWith('{\n  "'), 'sorted keys, two-space indent');

    const Ajv2020 = (createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js')).Ajv2020;
    const validate = new Ajv2020({ strict: true }).compile(JSON.parse(readFileSync(join(repoRoot(), 'schemas/lock.schema.json'), 'utf8')) as object);
    assert.ok(validate(JSON.parse(text)), JSON.stringify(validate.errors));

    const recipe = await loadBuildRecipe(dir, { locked: true });
    assert.is(recipe.lock?.file, result.lockFile);
    const npm = recipe.inputs['left-pad'];
    assert.is(npm?.kind === 'npm' && npm.version, '1.3.0');
    const fetched = await fetchInputs(env.store, Object.values(recipe.inputs), { recipeDir: recipe.dir });
    assert.equal(Object.keys(fetched).sort(), ['data', 'hello-src', 'left-pad', 'notes', 'tool']);
    assert.is(fetched.tool?.uri, `git+${env.repo.url}@${env.repo.first}`);

    const again = await lockRecipe(join(dir, 'kiln.yaml'), { store: env.store });
    assert.equal(again.changed, [], 'a current lock is left as it is');
    assert.is(await readFile(result.lockFile, 'utf8'), text);
  } finally {
    await env.close();
    await cleanup();
  }
});

LockRecipe('--update re-resolves only the named input', async () => {
  const { dir, cleanup } = await makeTempDir();
  const env = await setup(dir);
  try {
    await lockRecipe(join(dir, 'kiln.yaml'), { store: env.store });
    await writeFile(join(dir, 'notes.txt'), 'other notes\n');
    const same = await lockRecipe(join(dir, 'kiln.yaml'), { store: env.store });
    assert.equal(same.changed, [], 'a matching entry is kept without --update');
    const updated = await lockRecipe(join(dir, 'kiln.yaml'), { store: env.store, update: ['notes'] });
    assert.equal(updated.changed, ['input:notes']);
    await rejectsWithCode(() => lockRecipe(join(dir, 'kiln.yaml'), { store: env.store, update: ['nope'] }), 'KILN_LOCK_UNKNOWN_INPUT');
  } finally {
    await env.close();
    await cleanup();
  }
});

const LoadBuild = suite('loadBuildRecipe');

LoadBuild('--locked refuses a lock whose inputs changed, naming the input; step edits do not stale it', async () => {
  const { dir, cleanup } = await makeTempDir();
  const env = await setup(dir);
  try {
    await lockRecipe(join(dir, 'kiln.yaml'), { store: env.store });
    await writeFile(join(dir, 'kiln.yaml'), recipeText({ ...env.o, run: 'make all' }));
    await loadBuildRecipe(dir, { locked: true });
    await writeFile(join(dir, 'kiln.yaml'), recipeText(env.o).replace('left-pad@^1.0.0', 'left-pad@^2.0.0'));
    const err = await rejectsWithCode<Error & { where: { file: string } }>(() => loadBuildRecipe(dir, { locked: true }), 'KILN_LOCK_STALE');
    assert.is(err.where.file, join(dir, 'kiln.lock'));
    assert.match(err.message, /input "left-pad" changed/);
    await rejectsWithCode(() => loadBuildRecipe(dir), 'KILN_RECIPE_UNPINNED');
  } finally {
    await env.close();
    await cleanup();
  }
});

LoadBuild('without a lock: unpinned inputs are KILN_RECIPE_UNPINNED, and --locked is KILN_LOCK_MISSING', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeFile(join(dir, 'kiln.yaml'), recipeText({ npm: '', git: 'file:///nowhere', dsc: 'file:///x.dsc', url: 'http://127.0.0.1:9/x' }));
    const err = await rejectsWithCode<{ hint: string }>(() => loadBuildRecipe(dir), 'KILN_RECIPE_UNPINNED');
    assert.match(err.hint, /kiln lock/);
    await rejectsWithCode(() => loadBuildRecipe(dir, { locked: true }), 'KILN_LOCK_MISSING');
  } finally {
    await cleanup();
  }
});

const Apply = suite('applyLock');

const PINNED = `kiln: 1
name: t
sourceDateEpoch: 0
inputs:
  notes: { path: notes.txt, integrity: "sha256-${'A'.repeat(43)}=" }
images:
  base: { oci: "${OCI}" }
steps:
  build: { image: base, run: make }
artifacts:
  - { from: build, path: out }
`;

Apply('a recipe whose inputs are all pinned needs no lock', () => {
  const recipe = parseRecipe(PINNED, '/r/kiln.yaml');
  assert.is(applyLock(recipe, undefined).inputs.notes?.integrity, `sha256-${'A'.repeat(43)}=`);
});

Apply('lockChanges names added and removed inputs', () => {
  const recipe = parseRecipe(PINNED, '/r/kiln.yaml');
  const lock = { kiln: 'lock/v1' as const, recipe: { specs: `sha256:${'0'.repeat(64)}` as const }, inputs: { gone: { kind: 'url' as const, source: { url: 'http://x' }, integrity: 'x' } }, images: { base: { oci: OCI } } };
  assert.equal(lockChanges(recipe, lock), ['input "notes" is not in the lock', 'input "gone" was removed from the recipe']);
  throwsWithCode(() => applyLock(recipe, { file: '/r/kiln.lock', text: '', lock }, { locked: true }), 'KILN_LOCK_STALE');
});

const Parse = suite('parseLock');

Parse('refuses another format and bad JSON', () => {
  throwsWithCode(() => parseLock('{', 'kiln.lock'), 'KILN_LOCK_INVALID');
  throwsWithCode(() => parseLock('{"kiln":"lock/v9","recipe":{},"inputs":{},"images":{}}', 'kiln.lock'), 'KILN_LOCK_INVALID');
});

LockRecipe.run();
LoadBuild.run();
Apply.run();
Parse.run();
