import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { findCycle, parseRecipe, stepDependencies, topologicalOrder, type Recipe } from '../../src/recipe/index.js';
import { throwsWithCode } from '../helpers/index.js';

const OCI = `busybox@sha256:${'a'.repeat(64)}`;

/** A recipe with the given steps (image + needs); images `base` (oci) and `from-<step>` per step. */
function recipeWith(steps: Record<string, { image?: string; needs?: string[] }>): Recipe {
  const images = [`  base: { oci: "${OCI}" }`, ...Object.keys(steps).map((s) => `  from-${s}: { step: ${s} }`)];
  const stepLines = Object.entries(steps).map(
    ([name, s]) => `  ${name}: { image: ${s.image ?? 'base'}, run: x, needs: [${(s.needs ?? []).join(', ')}] }`,
  );
  const first = Object.keys(steps)[0];
  const text = ['kiln: 1', 'name: g', 'sourceDateEpoch: 0', 'images:', ...images, 'steps:', ...stepLines, 'artifacts:', `  - { from: ${first}, path: x }`].join('\n');
  return parseRecipe(text, 'kiln.yaml');
}

const deps = suite('stepDependencies');

deps('returns needs and the step behind a step-built image, sorted and unique', () => {
  const recipe = recipeWith({ z: {}, a: {}, m: {}, top: { image: 'from-m', needs: ['z', 'a', 'm'] } });
  assert.equal(stepDependencies(recipe, 'top'), ['a', 'm', 'z']);
});

deps('returns nothing for a step with no needs on a non-step image', () => {
  assert.equal(stepDependencies(recipeWith({ a: {} }), 'a'), []);
});

deps('counts an image built by a step as a dependency', () => {
  assert.equal(stepDependencies(recipeWith({ a: {}, b: { image: 'from-a' } }), 'b'), ['a']);
});

deps('rejects an unknown step', () => {
  throwsWithCode(() => stepDependencies(recipeWith({ a: {} }), 'nope'), 'KILN_RECIPE_UNKNOWN_REF');
});

const topo = suite('topologicalOrder');

topo('puts every step after its dependencies, smallest ready name first', () => {
  const recipe = recipeWith({ pack: { needs: ['build', 'docs'] }, docs: {}, build: { image: 'from-tools' }, tools: {} });
  assert.equal(topologicalOrder(recipe), ['docs', 'tools', 'build', 'pack']);
});

topo('does not depend on the order the recipe lists steps in', () => {
  const a = recipeWith({ c: { needs: ['a'] }, b: {}, a: {} });
  const b = recipeWith({ a: {}, b: {}, c: { needs: ['a'] } });
  assert.equal(topologicalOrder(a), topologicalOrder(b));
  assert.equal(topologicalOrder(a), ['a', 'b', 'c']);
});

topo('rejects a hand-built recipe with a cycle', () => {
  const recipe = recipeWith({ a: {}, b: { needs: ['a'] } });
  recipe.steps.a!.needs = ['b'];
  const err = throwsWithCode<Error>(() => topologicalOrder(recipe), 'KILN_RECIPE_CYCLE');
  assert.match(err.message, /a -> b -> a/);
});

const cycle = suite('findCycle');

cycle('returns undefined for a DAG', () => {
  assert.is(findCycle(recipeWith({ a: {}, b: { needs: ['a'] }, c: { needs: ['a', 'b'] } })), undefined);
});

cycle('returns the cycle with its first step repeated, found through an image', () => {
  const recipe = recipeWith({ a: {}, b: { needs: ['a'] } });
  recipe.steps.a!.image = 'from-b';
  assert.equal(findCycle(recipe), ['a', 'b', 'a']);
});

deps.run();
topo.run();
cycle.run();
