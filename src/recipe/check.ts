import { RecipeError } from './errors.js';
import { findCycle } from './graph.js';
import type { InputSpec, Recipe } from './types.js';
import type { Locator } from './yaml.js';

/**
 * What the schema cannot say: every input pinned, every reference defined, no cycles.
 * Runs on the built model; `locator` points each error at the exact value that is wrong.
 * Order is reading order within each kind, inputs first, so the first error is stable.
 */
export function checkRecipe(recipe: Recipe, locator: Locator, options: { allowUnpinned?: boolean } = {}): void {
  for (const input of Object.values(recipe.inputs)) {
    const unpinned = options.allowUnpinned ? undefined : unpinnedReason(input);
    if (unpinned !== undefined) {
      throw new RecipeError('KILN_RECIPE_UNPINNED', `input "${input.name}" ${unpinned}`, {
        where: input.where,
        hint: 'run `kiln lock` to resolve it into kiln.lock beside the recipe (or write `integrity: sha256-<base64>`); kiln builds only from pinned inputs',
      });
    }
    if (input.kind === 'url') {
      try {
        new URL(input.url);
      } catch (err) {
        throw new RecipeError('KILN_RECIPE_INVALID', `input "${input.name}": url "${input.url}" is not a valid URL`, {
          where: locator.value(['inputs', input.name, 'url']),
          cause: err,
        });
      }
    }
  }

  const known = (kind: 'input' | 'image' | 'step', name: string, path: (string | number)[]): void => {
    const table = kind === 'input' ? recipe.inputs : kind === 'image' ? recipe.images : recipe.steps;
    if (Object.hasOwn(table, name)) return;
    const names = Object.keys(table);
    throw new RecipeError('KILN_RECIPE_UNKNOWN_REF', `unknown ${kind} "${name}"`, {
      where: locator.value(path),
      hint: names.length > 0 ? `known ${kind}s: ${names.join(', ')}` : `the recipe defines no ${kind}s`,
    });
  };

  for (const image of Object.values(recipe.images)) {
    if (image.kind === 'debian' && image.pins.length === 0 && !options.allowUnpinned) {
      throw new RecipeError('KILN_RECIPE_UNPINNED', `image "${image.name}" has Debian packages that are not resolved`, {
        where: image.where,
        hint: 'run `kiln lock` to resolve the packages into kiln.lock beside the recipe; kiln builds only from pinned inputs',
      });
    }
    switch (image.kind) {
      case 'rootfs':
        known('input', image.input, ['images', image.name, 'rootfs']);
        break;
      case 'step':
        known('step', image.step, ['images', image.name, 'step']);
        break;
      case 'oci':
      case 'debian':
        break;
    }
  }
  for (const step of Object.values(recipe.steps)) {
    known('image', step.image, ['steps', step.name, 'image']);
    step.inputs.forEach((input, i) => known('input', input, ['steps', step.name, 'inputs', i]));
    step.needs.forEach((need, i) => known('step', need, ['steps', step.name, 'needs', i]));
  }
  recipe.artifacts.forEach((artifact, i) => known('step', artifact.from, ['artifacts', i, 'from']));

  const cycle = findCycle(recipe);
  if (cycle) {
    const through: string[] = [];
    for (let i = 0; i + 1 < cycle.length; i++) {
      const step = recipe.steps[cycle[i]!]!;
      const image = recipe.images[step.image];
      if (!step.needs.includes(cycle[i + 1]!) && image?.kind === 'step') {
        through.push(`step "${step.name}" runs in image "${image.name}", built by step "${image.step}"`);
      }
    }
    throw new RecipeError('KILN_RECIPE_CYCLE', `steps depend on each other: ${cycle.join(' -> ')}`, {
      where: recipe.steps[cycle[0]!]!.where,
      hint: through.length > 0 ? through.join('; ') : 'remove one of these `needs`',
    });
  }
}

/** An exact semver version as npm publishes: no range, no tag. */
export const NPM_EXACT_VERSION = /^(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** Why an input cannot be built from as written, or undefined when it is pinned. */
export function unpinnedReason(input: InputSpec): string | undefined {
  if (input.integrity === '') return 'has no integrity';
  switch (input.kind) {
    case 'npm':
      return NPM_EXACT_VERSION.test(input.version) ? undefined : `names npm version "${input.version}", not an exact version`;
    case 'git':
      return input.commit === '' ? 'names no commit' : undefined;
    case 'path':
    case 'url':
    case 'deb':
    case 'debsrc':
      return undefined;
  }
}
