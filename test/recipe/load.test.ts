import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadRecipe } from '../../src/recipe/index.js';
import { sha256Digest } from '../../src/util/digest.js';
import { makeTempDir, rejectsWithCode, repoRoot } from '../helpers/index.js';

const RECIPE = `kiln: 1
name: t
sourceDateEpoch: 0
images:
  base: { oci: "busybox@sha256:${'a'.repeat(64)}" }
steps:
  build: { image: base, run: make }
artifacts:
  - { from: build, path: out }
`;

const load = suite('loadRecipe');

load('reads kiln.yaml when given a folder', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeFile(join(dir, 'kiln.yaml'), RECIPE);
    const recipe = await loadRecipe(dir);
    assert.is(recipe.file, join(dir, 'kiln.yaml'));
    assert.is(recipe.dir, dir);
    assert.is(recipe.digest, sha256Digest(RECIPE));
    assert.equal(await readdir(dir), ['kiln.yaml'], 'loading writes nothing');
  } finally {
    await cleanup();
  }
});

load('reads a recipe file under any name', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeFile(join(dir, 'other.yaml'), RECIPE);
    assert.is((await loadRecipe(join(dir, 'other.yaml'))).name, 't');
  } finally {
    await cleanup();
  }
});

load('loads the full fixture from its folder', async () => {
  const recipe = await loadRecipe(join(repoRoot(), 'test/fixtures/recipes/full'));
  assert.equal(Object.keys(recipe.steps), ['compile', 'package']);
});

load('keeps a byte order mark in the text so the digest is the file digest', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(RECIPE)]);
    await writeFile(join(dir, 'kiln.yaml'), bytes);
    assert.is((await loadRecipe(dir)).digest, sha256Digest(bytes));
  } finally {
    await cleanup();
  }
});

load('rejects a missing file', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const err = await rejectsWithCode<{ where?: { file: string } }>(() => loadRecipe(join(dir, 'nope.yaml')), 'KILN_RECIPE_NOT_FOUND');
    assert.is(err.where?.file, join(dir, 'nope.yaml'));
  } finally {
    await cleanup();
  }
});

load('rejects a folder without kiln.yaml', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await mkdir(join(dir, 'empty'));
    const err = await rejectsWithCode<{ where?: { file: string } }>(() => loadRecipe(join(dir, 'empty')), 'KILN_RECIPE_NOT_FOUND');
    assert.is(err.where?.file, join(dir, 'empty', 'kiln.yaml'));
    assert.equal(await readdir(join(dir, 'empty')), []);
  } finally {
    await cleanup();
  }
});

load('rejects a recipe that is not valid UTF-8', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeFile(join(dir, 'kiln.yaml'), Buffer.from([0x6b, 0x69, 0xff, 0x0a]));
    await rejectsWithCode(() => loadRecipe(dir), 'KILN_RECIPE_SYNTAX');
  } finally {
    await cleanup();
  }
});

load('passes parse errors through with the file path', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeFile(join(dir, 'kiln.yaml'), RECIPE.replace('name: t', 'name: t\nbogus: 1'));
    const err = await rejectsWithCode<{ where?: { file: string; line?: number } }>(() => loadRecipe(dir), 'KILN_RECIPE_UNKNOWN_KEY');
    assert.equal(err.where, { file: join(dir, 'kiln.yaml'), line: 3, column: 1 });
  } finally {
    await cleanup();
  }
});

load.run();
