/**
 * kiln's library API: everything the CLI does, for programs.
 *   import { build } from 'kiln-build';
 */
export { build, BuildError, PLATFORM, selectArtifacts } from './builder/index.js';
export type { ArtifactSummary, BuildEvent, BuildOptions, BuildReporter, BuildSummary, StepSummary } from './builder/index.js';
export { loadRecipe, parseRecipe, RecipeError } from './recipe/index.js';
export type { ArtifactSpec, ImageSpec, InputSpec, Recipe, StepSpec } from './recipe/index.js';
export { createStore, StoreError } from './store/index.js';
export type { ActionRecord, Store, StoreOptions, TreeEntry, TreeManifest } from './store/index.js';
export { digestPath, fetchInput, fetchInputs, FetchError, resolveSources } from './fetch/index.js';
export type { FetchedInput, InputMount, SourceAttempt, SourceOptions } from './fetch/index.js';
export { checkVendorFolder, vendorRecipe, VendorError } from './vendor/index.js';
export type { VendorCheckReport, VendorOptions, VendorResult } from './vendor/index.js';
export { ArchiveError, ingestDirectory, ingestTar, normalizeTree, packLayers, unpackArchive, writeTreeTar } from './archive/index.js';
export { createEngine, loadSandboxProfile, SandboxError } from './sandbox/index.js';
export type { Engine, EngineAction, EngineResult, SandboxProfile } from './sandbox/index.js';
export { computeActionKey, planBuild } from './plan/index.js';
export type { ActionKeyMaterial } from './plan/index.js';
export { canonicalJSON, KilnError } from './util/index.js';
export type { Digest } from './util/index.js';
