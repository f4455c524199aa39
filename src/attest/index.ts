export { pae, signEnvelope, verifyEnvelopeSignatures, envelopeFromJSON, envelopeToJSON, decodePayload } from './dsse.js';
export {
  generateKeyPair,
  createSigner,
  loadTrustedKey,
  sshFingerprint,
  readSigner,
  readTrustedKey,
  writeKeyPair,
  keygen,
  DEFAULT_KEY_ALGORITHM,
  KEY_ALGORITHMS,
} from './keys.js';
export type { KeygenOptions, KeygenResult } from './keys.js';
export { makeStatement, statementFromPayload, assertDigestSet } from './statement.js';
export { AttestError } from './errors.js';
export type { AttestErrorCode } from './errors.js';
export {
  buildProvenance,
  provenanceFromStatement,
  sriExtraDigests,
  ociUri,
  BUILD_TYPE_KILN_RECIPE_V1,
  DEFAULT_BUILDER_ID,
} from './provenance.js';
export type {
  SlsaProvenanceV1,
  KilnExternalParameters,
  KilnInternalParameters,
  KilnProvenancePredicate,
  KilnProvenance,
  ProvenanceOptions,
  ResolvedInput,
  ResolvedImage,
  StepRecord,
} from './provenance.js';
export { buildVsa, rebuildResourceUri, recipeHeader, REBUILD_POLICY_URI, VERIFIED_REBUILT_BIT_FOR_BIT, vsaFromStatement } from './vsa.js';
export type { VsaOptions, VsaPredicate } from './vsa.js';
export { sbomCacheKey } from './sbom.js';
export { buildSbom, sbomSerialNumber, debPurl, genericPurl, ociPurl, SBOM_SPEC_VERSION } from './sbom.js';
export type { SbomOptions } from './sbom.js';
export { toSigstoreBundle, SIGSTORE_BUNDLE_V03_MEDIA_TYPE } from './bundle.js';
export type { SigstoreDsseBundle } from './bundle.js';
export { writeAttestations, statementBytes, ATTESTATION_SUFFIXES, UNSIGNED_STATEMENTS_FORMAT } from './write.js';
export type { UnsignedStatements } from './write.js';
export { attestBuild, resolveSignKey, SIGN_KEY_ENV } from './attest-build.js';
export type { AttestBuildOptions } from './attest-build.js';
export {
  PAYLOAD_TYPE_INTOTO,
  STATEMENT_TYPE_V1,
  STATEMENT_TYPE_V01,
  PREDICATE_SLSA_PROVENANCE_V1,
  PREDICATE_SLSA_VSA_V1,
  PREDICATE_CYCLONEDX,
} from './types.js';
export type { DsseEnvelope, DsseSignature, Statement, ResourceDescriptor, DigestSet, Signer, TrustedKey, KeyAlgorithm } from './types.js';
