import { dirname, resolve } from 'node:path';
import { sha256Digest } from '../util/digest.js';
import { BUDGET_NAMES, isOverBytes, MAX_RECIPE_BYTES } from '../util/limits.js';
import { checkRecipe } from './check.js';
import { RecipeError } from './errors.js';
import { DEFAULT_SHELL, DEFAULT_USER, type ArtifactSpec, type ImageSpec, type InputSpec, type Recipe, type StepSpec } from './types.js';
import { assertRecipeShape } from './validate.js';
import { readYaml, type Locator } from './yaml.js';

/** The recipe as the schema guarantees it; optional keys are still absent. */
interface RawInput {
  path?: string;
  url?: string;
  deb?: string;
  arch?: string;
  npm?: string;
  git?: string;
  commit?: string;
  ref?: string;
  debsrc?: string;
  dsc?: string;
  integrity?: string;
  unpack?: boolean;
}
interface RawImage {
  rootfs?: string;
  step?: string;
  oci?: string;
  debian?: { packages: string[]; arch?: string };
  shell?: string[];
}
interface RawStep {
  image: string;
  run: string;
  inputs?: string[];
  needs?: string[];
  env?: Record<string, string>;
  user?: string;
  normalize?: boolean;
}
interface RawRecipe {
  kiln: 1;
  name: string;
  version?: string;
  sourceDateEpoch: number;
  inputs?: Record<string, RawInput>;
  images?: Record<string, RawImage>;
  env?: Record<string, string>;
  steps: Record<string, RawStep>;
  artifacts: { from: string; path: string }[];
}

/**
 * Parses and validates a recipe, applying defaults. Pure: `file` only names the recipe in
 * errors and sets `file`/`dir` (resolved to absolute paths); nothing is read.
 * Throws RecipeError with file:line:column for the first problem found.
 */
export interface ParseRecipeOptions {
  /**
   * Accept inputs that are not pinned yet (no integrity, a git ref without commit, an npm
   * range): what `kiln lock` resolves, and what loadBuildRecipe fills from kiln.lock.
   */
  allowUnpinned?: boolean;
}

export function parseRecipe(text: string, file: string, options: ParseRecipeOptions = {}): Recipe {
  const absolute = resolve(file);
  // Before the parser: a recipe embedded in someone's provenance is as untrusted as a file.
  if (isOverBytes(text, MAX_RECIPE_BYTES)) throw recipeTooLarge(absolute);
  const { data, locator } = readYaml(text, absolute);
  assertRecipeShape(data, locator);
  const recipe = toRecipe(data as RawRecipe, text, absolute, locator);
  checkRecipe(recipe, locator, { allowUnpinned: options.allowUnpinned === true });
  return recipe;
}

/** The refusal of a recipe over its size budget. */
export function recipeTooLarge(file: string): RecipeError {
  return new RecipeError('KILN_RECIPE_TOO_LARGE', `recipe ${file} is larger than ${MAX_RECIPE_BYTES} bytes (budget ${BUDGET_NAMES.recipe})`, {
    where: { file },
    budget: { name: BUDGET_NAMES.recipe, limit: MAX_RECIPE_BYTES },
    hint: 'a recipe pins its inputs by digest and is a few KiB; move data into inputs',
  });
}

function toRecipe(raw: RawRecipe, text: string, file: string, locator: Locator): Recipe {
  const recipe: Recipe = {
    file,
    dir: dirname(file),
    text,
    digest: sha256Digest(text),
    kiln: 1,
    name: raw.name,
    sourceDateEpoch: raw.sourceDateEpoch,
    inputs: {},
    images: {},
    env: { ...raw.env },
    steps: {},
    artifacts: [],
  };
  if (raw.version !== undefined) recipe.version = raw.version;
  for (const [name, input] of Object.entries(raw.inputs ?? {})) {
    recipe.inputs[name] = toInput(name, input, locator);
  }
  for (const [name, image] of Object.entries(raw.images ?? {})) {
    recipe.images[name] = toImage(name, image, locator);
  }
  for (const [name, step] of Object.entries(raw.steps)) {
    recipe.steps[name] = toStep(name, step, locator);
  }
  recipe.artifacts = raw.artifacts.map(
    (artifact, i): ArtifactSpec => ({ from: artifact.from, path: artifact.path, where: locator.value(['artifacts', i]) }),
  );
  return recipe;
}

function toInput(name: string, raw: RawInput, locator: Locator): InputSpec {
  // An absent integrity stays '' here so that checkRecipe reports it at the input.
  const base = { name, integrity: raw.integrity ?? '', unpack: raw.unpack ?? false, where: locator.key(['inputs', name]) };
  if (raw.path !== undefined) return { ...base, kind: 'path', path: raw.path };
  if (raw.url !== undefined) return { ...base, kind: 'url', url: raw.url };
  if (raw.npm !== undefined) {
    // The name may start with `@scope/`: the version follows the last `@`.
    const at = raw.npm.lastIndexOf('@');
    return { ...base, kind: 'npm', package: raw.npm.slice(0, at), version: raw.npm.slice(at + 1) };
  }
  if (raw.git !== undefined) {
    return { ...base, kind: 'git', url: raw.git, commit: raw.commit ?? '', ...(raw.ref !== undefined && { ref: raw.ref }) };
  }
  if (raw.debsrc !== undefined) {
    const eq = raw.debsrc.indexOf('=');
    return { ...base, kind: 'debsrc', package: raw.debsrc.slice(0, eq), version: raw.debsrc.slice(eq + 1), ...(raw.dsc !== undefined && { dsc: raw.dsc }) };
  }
  // The schema guarantees exactly one source key, and deb's `<package>=<version>` form.
  const deb = raw.deb!;
  const eq = deb.indexOf('=');
  return { ...base, kind: 'deb', package: deb.slice(0, eq), version: deb.slice(eq + 1), arch: raw.arch ?? 'amd64' };
}

function toImage(name: string, raw: RawImage, locator: Locator): ImageSpec {
  const base = { name, shell: raw.shell ? [...raw.shell] : [...DEFAULT_SHELL], where: locator.key(['images', name]) };
  if (raw.rootfs !== undefined) return { ...base, kind: 'rootfs', input: raw.rootfs };
  if (raw.step !== undefined) return { ...base, kind: 'step', step: raw.step };
  if (raw.debian !== undefined) return { ...base, kind: 'debian', packages: [...raw.debian.packages], arch: raw.debian.arch ?? 'amd64', pins: [] };
  return { ...base, kind: 'oci', ref: raw.oci! };
}

function toStep(name: string, raw: RawStep, locator: Locator): StepSpec {
  return {
    name,
    image: raw.image,
    inputs: [...(raw.inputs ?? [])],
    needs: [...(raw.needs ?? [])],
    run: raw.run,
    env: { ...raw.env },
    user: raw.user ?? DEFAULT_USER,
    normalize: raw.normalize ?? true,
    where: locator.key(['steps', name]),
  };
}
