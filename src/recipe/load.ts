import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MAX_RECIPE_BYTES } from '../util/limits.js';
import { readFileBounded } from '../util/read-bounded.js';
import { RecipeError } from './errors.js';
import { parseRecipe, recipeTooLarge, type ParseRecipeOptions } from './parse.js';
import type { Recipe } from './types.js';

/** The file a folder's recipe lives in. */
export const RECIPE_FILE_NAME = 'kiln.yaml';

/** Reads a recipe file, or `<dir>/kiln.yaml` for a folder, and parses it. */
export async function loadRecipe(pathOrDir: string, options: ParseRecipeOptions = {}): Promise<Recipe> {
  const { file, text } = await readRecipeText(pathOrDir);
  return parseRecipe(text, file, options);
}

/** The recipe file's path (`<dir>/kiln.yaml` for a folder) and its text, strictly UTF-8. */
export async function readRecipeText(pathOrDir: string): Promise<{ file: string; text: string }> {
  let file = pathOrDir;
  try {
    if ((await stat(pathOrDir)).isDirectory()) file = join(pathOrDir, RECIPE_FILE_NAME);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(pathOrDir, err);
    throw unreadable(pathOrDir, err);
  }
  let bytes: Buffer | undefined;
  try {
    bytes = await readFileBounded(file, MAX_RECIPE_BYTES);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(file, err);
    throw unreadable(file, err);
  }
  if (bytes === undefined) throw recipeTooLarge(resolve(file));
  let text: string;
  try {
    // fatal: a recipe in another encoding must not be half-read; ignoreBOM keeps the text
    // equal to the bytes, so the recipe digest is the file's digest.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    throw new RecipeError('KILN_RECIPE_SYNTAX', `recipe ${file} is not valid UTF-8`, { where: { file }, cause: err });
  }
  return { file, text };
}

function notFound(path: string, cause: unknown): RecipeError {
  return new RecipeError('KILN_RECIPE_NOT_FOUND', `no recipe at ${path}`, {
    where: { file: path },
    cause,
    hint: `pass a recipe file or a folder holding ${RECIPE_FILE_NAME}`,
  });
}

function unreadable(path: string, cause: unknown): RecipeError {
  return new RecipeError('KILN_RECIPE_UNREADABLE', `cannot read recipe ${path}: ${(cause as Error).message}`, { where: { file: path }, cause });
}
