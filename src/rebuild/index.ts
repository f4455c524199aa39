export { compareRebuild } from './compare.js';
export type { ArtifactComparison, ExpectedBuild, RebuildComparison, StepComparison } from './compare.js';
export { RebuildError } from './errors.js';
export type { RebuildErrorCode } from './errors.js';
export { DEFAULT_REBUILDER_ID, rebuild } from './rebuild.js';
export type { RebuildOptions, RebuildResult } from './rebuild.js';
// The VSA format lives in attest/ with the other attestation formats; re-exported for callers of rebuild.
export { buildVsa, REBUILD_POLICY_URI, VERIFIED_REBUILT_BIT_FOR_BIT } from '../attest/index.js';
export type { VsaOptions, VsaPredicate } from '../attest/index.js';
