export { RecipeError } from './errors.js';
export type { RecipeErrorCode } from './errors.js';
export { parseRecipe } from './parse.js';
export type { ParseRecipeOptions } from './parse.js';
export { NPM_EXACT_VERSION, unpinnedReason } from './check.js';
export { RECIPE_FILE_NAME, loadRecipe, readRecipeText } from './load.js';
export { findCycle, stepDependencies, topologicalOrder } from './graph.js';
export { DEFAULT_SHELL, DEFAULT_USER, NAME_PATTERN } from './types.js';
export type {
  ArtifactSpec,
  DebInputSpec,
  DebianImageSpec,
  DebianPackagePin,
  DebianSnapshotRef,
  DebsrcInputSpec,
  GitInputSpec,
  NpmInputSpec,
  ImageSpec,
  InputSpec,
  OciImageSpec,
  PathInputSpec,
  Recipe,
  RootfsImageSpec,
  StepImageSpec,
  StepSpec,
  UrlInputSpec,
} from './types.js';
