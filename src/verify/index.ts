export { VerifyError } from './errors.js';
export type { VerifyErrorCode } from './errors.js';
export { hashArtifact } from './artifact.js';
export type { HashedArtifact } from './artifact.js';
export { parseAttestationFile, readAttestationFile } from './attestation.js';
export type { Attestation } from './attestation.js';
export { evaluatePolicy, parsePolicy, readPolicy } from './policy.js';
export type { AllowedRebuilder, Policy, PolicyContext, PolicyRule, RuleResult } from './policy.js';
export { assertKeylessOptions, isAnchoredPattern, parseTrustedRoot, readTrustedRoot, verifyKeylessBundle } from './keyless.js';
export { loadProvenanceTrust } from './trust.js';
export type { ProvenanceTrust, TrustOptions } from './trust.js';
export type { CertificateSigner, KeylessOptions, KeylessResult, TrustMaterial } from './keyless.js';
export {
  BUILD_TYPE_GITHUB_ACTIONS_WORKFLOW_V1,
  KNOWN_BUILD_TYPES,
  checkSubjectNames,
  isPinned,
  SIGNATURE_NOT_CHECKED,
  subjectMatches,
  verifyProvenance,
  verifyProvenanceAttestation,
} from './verify.js';
export type { VerifyCheck, VerifyInput, VerifyReport, VerifySigner } from './verify.js';
export { inspectAttestation } from './inspect.js';
export type { InspectedEnvelope, Inspection, InspectOptions, SignatureStatus } from './inspect.js';
export { inspect, verify } from './files.js';
export type { InspectFileOptions, VerifyOptions, VerifyResult } from './files.js';
export { CLOCK_SKEW_MS, rebuiltProvenance, timeVerifiedProblem, verifyRebuilds } from './rebuilds.js';
export type { RebuildsInput, RebuiltProvenance } from './rebuilds.js';
