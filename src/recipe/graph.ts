import { RecipeError } from './errors.js';
import type { Recipe } from './types.js';

/**
 * The steps `step` depends on: its `needs`, plus the step that builds its image when the
 * image is `{ step: X }` (the image is X's output tree, so X runs first). Sorted, unique.
 */
export function stepDependencies(recipe: Recipe, step: string): string[] {
  const spec = recipe.steps[step];
  if (!spec) throw new RecipeError('KILN_RECIPE_UNKNOWN_REF', `unknown step "${step}"`, { where: { file: recipe.file } });
  const deps = new Set(spec.needs);
  const image = recipe.images[spec.image];
  if (!image) throw new RecipeError('KILN_RECIPE_UNKNOWN_REF', `unknown image "${spec.image}"`, { where: spec.where });
  if (image.kind === 'step') deps.add(image.step);
  return [...deps].sort();
}

/**
 * A dependency cycle as step names, first step repeated at the end (`['a', 'b', 'a']`), or
 * undefined. Searches from steps in recipe order and dependencies in sorted order, so the
 * same recipe always reports the same cycle.
 */
export function findCycle(recipe: Recipe): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (step: string): string[] | undefined => {
    if (state.get(step) === 'done') return undefined;
    if (state.get(step) === 'open') return [...stack.slice(stack.indexOf(step)), step];
    state.set(step, 'open');
    stack.push(step);
    for (const dep of stepDependencies(recipe, step)) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(step, 'done');
    return undefined;
  };
  for (const step of Object.keys(recipe.steps)) {
    const cycle = visit(step);
    if (cycle) return cycle;
  }
  return undefined;
}

/**
 * Steps in an order where each comes after all it depends on. Kahn's algorithm, always
 * taking the smallest ready name, so the order depends on the graph only, never on the
 * order the recipe lists steps in.
 */
export function topologicalOrder(recipe: Recipe): string[] {
  const names = Object.keys(recipe.steps).sort();
  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const name of names) {
    const deps = stepDependencies(recipe, name);
    waitingOn.set(name, deps.length);
    for (const dep of deps) {
      if (!recipe.steps[dep]) throw new RecipeError('KILN_RECIPE_UNKNOWN_REF', `unknown step "${dep}"`, { where: recipe.steps[name]!.where });
      dependents.set(dep, [...(dependents.get(dep) ?? []), name]);
    }
  }
  const ready = names.filter((name) => waitingOn.get(name) === 0);
  const order: string[] = [];
  while (ready.length > 0) {
    // `ready` stays sorted: insert each newly ready name at its place.
    const name = ready.shift()!;
    order.push(name);
    for (const dependent of dependents.get(name) ?? []) {
      const left = waitingOn.get(dependent)! - 1;
      waitingOn.set(dependent, left);
      if (left === 0) ready.splice(sortedIndex(ready, dependent), 0, dependent);
    }
  }
  if (order.length < names.length) {
    const cycle = findCycle(recipe) ?? names.filter((n) => !order.includes(n));
    throw new RecipeError('KILN_RECIPE_CYCLE', `steps depend on each other: ${cycle.join(' -> ')}`, {
      where: recipe.steps[cycle[0]!]?.where ?? { file: recipe.file },
    });
  }
  return order;
}

function sortedIndex(sorted: string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
