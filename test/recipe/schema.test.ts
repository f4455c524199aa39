import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_SHELL, DEFAULT_USER, NAME_PATTERN } from '../../src/recipe/index.js';
import { repoRoot } from '../helpers/index.js';

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; $defs?: Record<string, Schema> };

const schema = JSON.parse(readFileSync(join(repoRoot(), 'schemas/recipe.schema.json'), 'utf8')) as Schema;

/** Every object schema in the file, with a path for messages. */
function objects(node: Schema, path: string, out: [string, Schema][] = []): [string, Schema][] {
  if (node.type === 'object') out.push([path, node]);
  for (const [key, value] of Object.entries(node)) {
    if (value && typeof value === 'object' && !Array.isArray(value)) objects(value as Schema, `${path}/${key}`, out);
    if (Array.isArray(value)) value.forEach((v, i) => v && typeof v === 'object' && objects(v as Schema, `${path}/${key}/${i}`, out));
  }
  return out;
}

const recipeSchema = suite('recipe.schema.json');

recipeSchema('closes every object with fixed keys: an unknown key is an error', () => {
  for (const [path, node] of objects(schema, '#')) {
    if (node.properties) assert.is(node.additionalProperties, false, `${path} allows unknown keys`);
  }
});

recipeSchema('documents every property', () => {
  for (const [path, node] of objects(schema, '#')) {
    for (const [key, prop] of Object.entries(node.properties ?? {})) {
      assert.type(prop.description, 'string', `${path}/properties/${key} has no description`);
    }
  }
});

recipeSchema('agrees with the constants of src/recipe/types.ts', () => {
  assert.is(schema.$defs!.name!.pattern, NAME_PATTERN.source);
  const image = schema.$defs!.image!.properties!;
  const step = schema.$defs!.step!.properties!;
  assert.equal(image.shell!.default, [...DEFAULT_SHELL]);
  assert.is(step.user!.default, DEFAULT_USER);
});

recipeSchema.run();
