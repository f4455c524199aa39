import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadBuildRecipe } from '../../src/lock/index.js';
import { repoRoot } from '../helpers/index.js';

// Every maintained recipe carries a kiln.lock that `kiln build --locked` accepts: nothing
// unpinned, nothing stale. Pure file reads: no engine, no network.
const RECIPES = ['toolchain', 'hello', 'npm-package'];

const locked = suite('maintained recipes: locks');

for (const name of RECIPES) {
  locked(`recipes/${name} loads with --locked and every input and image is pinned`, async () => {
    const recipe = await loadBuildRecipe(join(repoRoot(), 'recipes', name), { locked: true });
    assert.is(recipe.name, name);
    for (const input of Object.values(recipe.inputs)) assert.ok(input.integrity, `input ${input.name} pinned`);
    for (const image of Object.values(recipe.images)) {
      if (image.kind === 'debian') assert.ok(image.pins.length > 50, `image ${image.name} pinned`);
    }
  });
}

locked.run();
