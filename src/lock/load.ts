import { dirname, join } from 'node:path';
import { MAX_LOCK_BYTES } from '../util/limits.js';
import { readFileBounded } from '../util/read-bounded.js';
import { parseRecipe } from '../recipe/parse.js';
import { readRecipeText } from '../recipe/load.js';
import type { Recipe } from '../recipe/types.js';
import { applyLock } from './apply.js';
import { LockError } from './errors.js';
import { lockTooLarge, parseLock } from './format.js';
import { LOCK_FILE_NAME, type Lock } from './types.js';

/** The lock that belongs to a recipe file: kiln.lock in the same folder. */
export function lockFileFor(recipeFile: string): string {
  return join(dirname(recipeFile), LOCK_FILE_NAME);
}

/** Reads and parses a lock; undefined when the file does not exist. */
export async function readLock(file: string): Promise<{ file: string; text: string; lock: Lock } | undefined> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readFileBounded(file, MAX_LOCK_BYTES);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LockError('KILN_LOCK_IO', `cannot read ${file}: ${(err as Error).message}`, { where: { file }, cause: err });
  }
  if (bytes === undefined) throw lockTooLarge(file);
  const text = bytes.toString('utf8');
  return { file, text, lock: parseLock(text, file) };
}

export interface LoadBuildRecipeOptions {
  /** Refuse a missing or stale kiln.lock (`kiln build --locked`). */
  locked?: boolean;
}

/**
 * The recipe a build runs: parsed, then every unpinned input pinned from kiln.lock beside it
 * (see applyLock). Reads two small files and touches no network. Without a lock, a recipe
 * whose inputs are all pinned builds as before.
 */
export async function loadBuildRecipe(pathOrDir: string, options: LoadBuildRecipeOptions = {}): Promise<Recipe> {
  const { file, text } = await readRecipeText(pathOrDir);
  const recipe = parseRecipe(text, file, { allowUnpinned: true });
  const lock = await readLock(lockFileFor(recipe.file));
  return applyLock(recipe, lock, options);
}
