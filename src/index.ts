/**
 * kiln's library API: everything the CLI does, for programs. One call per command (build,
 * rebuild, check, verify, inspect, diff, lock, vendor, keygen, digest); the CLI (src/cli/)
 * only parses arguments, calls these and renders what they return.
 *   import { build, verify } from 'kiln-build';
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

// The other commands, one call each (test/index.test.ts pins this list).
export { rebuild, RebuildError } from './rebuild/index.js';
export type { RebuildComparison, RebuildOptions, RebuildResult } from './rebuild/index.js';
export { check, runCheck, CheckError } from './check/index.js';
export type { CheckEvent, CheckOptions, CheckReport, CheckReportOptions, CheckResult, CheckRun } from './check/index.js';
export { inspect, verify, verifyProvenance, VerifyError } from './verify/index.js';
export type { Inspection, InspectFileOptions, KeylessOptions, VerifyCheck, VerifyOptions, VerifyReport, VerifyResult } from './verify/index.js';
export { diff, diffPaths, DiffError } from './diff/index.js';
export type { DiffFilesOptions, DiffOptions, DiffReport } from './diff/index.js';
export { lockRecipe as lock, LockError } from './lock/index.js';
export type { Lock, LockRecipeOptions, LockResult } from './lock/index.js';
export { vendorRecipe as vendor } from './vendor/index.js';
export type { VendorCheckOptions } from './vendor/index.js';
export { AttestError, keygen } from './attest/index.js';
export type { KeyAlgorithm, KeygenOptions, KeygenResult } from './attest/index.js';
export { digest } from './fetch/index.js';
export type { PathDigest } from './fetch/index.js';
