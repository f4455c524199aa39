import { KilnError, type KilnErrorOptions } from '../util/errors.js';

export type RecipeErrorCode =
  /** No recipe file at the path (or no kiln.yaml in the folder). */
  | 'KILN_RECIPE_NOT_FOUND'
  /** The recipe file exists but cannot be read (permissions, not a file). */
  | 'KILN_RECIPE_UNREADABLE'
  /** The recipe is larger than its size budget (maxRecipeBytes, docs/security.md). */
  | 'KILN_RECIPE_TOO_LARGE'
  /** Not valid YAML, or YAML kiln refuses (several documents, unknown tags). */
  | 'KILN_RECIPE_SYNTAX'
  /** The same key twice in one mapping. */
  | 'KILN_RECIPE_DUPLICATE_KEY'
  /** `kiln:` names a format this kiln does not read. */
  | 'KILN_RECIPE_UNSUPPORTED_FORMAT'
  /** A key the format does not define: an error, never a silent default. */
  | 'KILN_RECIPE_UNKNOWN_KEY'
  /** A required key is absent. */
  | 'KILN_RECIPE_MISSING_KEY'
  /** A value of the wrong type or shape (a number where a string belongs, a bad URL...). */
  | 'KILN_RECIPE_INVALID'
  /** An input, image, step or env name that is not allowed. */
  | 'KILN_RECIPE_BAD_NAME'
  /** An input without `integrity`, or an OCI image without a digest. */
  | 'KILN_RECIPE_UNPINNED'
  /** An `integrity` that is not a well-formed sha256/384/512 SRI string. */
  | 'KILN_RECIPE_BAD_INTEGRITY'
  /** A reference to an input, image or step the recipe does not define. */
  | 'KILN_RECIPE_UNKNOWN_REF'
  /** Steps that depend on each other through `needs` or step-built images. */
  | 'KILN_RECIPE_CYCLE'
  /** An env name kiln sets itself (SOURCE_DATE_EPOCH, HOME, TZ, LANG, LC_ALL, KILN_*). */
  | 'KILN_RECIPE_RESERVED_ENV';

/** Everything wrong with a recipe; `where` carries file:line:column whenever a YAML node exists. */
export class RecipeError extends KilnError {
  constructor(readonly code: RecipeErrorCode, message: string, options: KilnErrorOptions = {}) {
    super(message, options);
  }
}
