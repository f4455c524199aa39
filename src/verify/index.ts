export { VerifyError } from './errors.js';
export type { VerifyErrorCode } from './errors.js';
export { hashArtifact } from './artifact.js';
export type { HashedArtifact } from './artifact.js';
export { parseAttestationFile, readAttestationFile } from './attestation.js';
export type { Attestation } from './attestation.js';
export { evaluatePolicy, parsePolicy, readPolicy } from './policy.js';
export type { Policy, PolicyContext, PolicyRule, RuleResult } from './policy.js';
export { assertKeylessOptions, parseTrustedRoot, readTrustedRoot, verifyKeylessBundle } from './keyless.js';
export type { CertificateSigner, KeylessOptions, KeylessResult, TrustMaterial } from './keyless.js';
export {
  BUILD_TYPE_GITHUB_ACTIONS_WORKFLOW_V1,
  KNOWN_BUILD_TYPES,
  isPinned,
  subjectMatches,
  verifyProvenance,
} from './verify.js';
export type { VerifyCheck, VerifyInput, VerifyReport, VerifySigner } from './verify.js';
export { formatInspection, inspectAttestation } from './inspect.js';
export type { InspectedEnvelope, Inspection, InspectOptions, SignatureStatus } from './inspect.js';
export { INSPECT_USAGE, VERIFY_USAGE, formatReport, runInspectCommand, runVerifyCommand } from './command.js';
export { verifyRebuilds } from './rebuilds.js';
export type { RebuildsInput } from './rebuilds.js';
