import { readTrustedKey, type TrustedKey } from '../attest/index.js';
import { UsageError } from '../util/errors.js';
import { hashArtifact, type HashedArtifact } from './artifact.js';
import { readAttestationFile, type Attestation } from './attestation.js';
import { inspectAttestation, type Inspection } from './inspect.js';
import { readTrustedRoot, type KeylessOptions } from './keyless.js';
import { readPolicy, type AllowedRebuilder } from './policy.js';
import { rebuiltProvenance, verifyRebuilds } from './rebuilds.js';
import { loadProvenanceTrust } from './trust.js';
import { verifyProvenance, type VerifyReport } from './verify.js';

/** What `kiln verify` takes: every trust decision as a file or a value, as on its command line. */
export interface VerifyOptions {
  /** The artifacts to verify (files); each must be a subject of the provenance. */
  artifacts: string[];
  /** The provenance: a `.intoto.jsonl`, a DSSE envelope or a Sigstore bundle. */
  provenance: string;
  /** Trusted public key files (PEM), for key-signed provenance. */
  keys?: string[];
  /** The expected signer of a keyless Sigstore bundle … */
  keyless?: KeylessOptions;
  /** … and the Sigstore trusted root (trusted_root.json) that vouches for it. */
  trustedRoot?: string;
  /** Expected `runDetails.builder.id`; unchecked when absent (the report says so). */
  builderId?: string;
  /** A policy file (`schemas/policy.schema.json`): named CEL rules, and rebuild requirements. */
  policy?: string;
  /** Rebuild verdicts: SLSA VSA files written by `kiln rebuild`. */
  rebuilds?: string[];
  /** Public key files of the rebuilders whose verdicts count. */
  rebuilderKeys?: string[];
  /** Verdicts from distinct rebuilders required; default the policy's `rebuilds.minimum`, else 1 when `rebuilds` are given. */
  minRebuilds?: number;
  /** Only verdicts from these rebuilder ids count (and, with a policy listing rebuilders, only those both allow). */
  rebuilderIds?: string[];
  /** The package the verdicts must be about; default derived from the provenance's recipe. */
  resourceUri?: string;
}

/** The report, with the attestation it is about and the artifacts as hashed. */
export interface VerifyResult extends VerifyReport {
  attestation: Attestation;
  artifacts: HashedArtifact[];
}

/**
 * `kiln verify` as one call: loads the provenance, the trust, the policy and the rebuild
 * verdicts, hashes each artifact once, and runs verifyProvenance (then verifyRebuilds when
 * verdicts are required). A negative verdict is a result with `passed: false`; bad input
 * throws (exit 2), and everything that can be bad input is loaded and checked before any
 * artifact is hashed: a usage error should not wait for a gigabyte to be read.
 */
export async function verify(options: VerifyOptions): Promise<VerifyResult> {
  if (options.artifacts.length === 0) throw new UsageError('kiln verify needs at least one artifact');
  const attestation = await readAttestationFile(options.provenance);
  const { keys, keyless } = await loadProvenanceTrust(attestation, { keys: options.keys ?? [], ...(options.keyless && { keyless: options.keyless }), trustedRoot: options.trustedRoot });
  const policy = options.policy === undefined ? undefined : await readPolicy(options.policy);

  const { minRebuilds } = options;
  if (minRebuilds !== undefined && (!Number.isInteger(minRebuilds) || minRebuilds < 1)) throw new UsageError(`--min-rebuilds must be a positive integer, got ${minRebuilds}`);
  const required = minRebuilds ?? policy?.rebuilds?.minimum ?? (options.rebuilds?.length ? 1 : undefined);
  const vsas: Attestation[] = [];
  for (const file of options.rebuilds ?? []) vsas.push(await readAttestationFile(file));
  const rebuilderKeys = await readKeys(options.rebuilderKeys ?? []);
  if (required !== undefined && rebuilderKeys.length === 0) {
    throw new UsageError('rebuild verdicts are required: give the rebuilders\' public keys with --rebuilder-key');
  }

  const artifacts: HashedArtifact[] = [];
  for (const path of options.artifacts) artifacts.push(await hashArtifact(path));

  const report = verifyProvenance({
    artifacts,
    attestation,
    keys,
    ...(options.builderId !== undefined && { builderId: options.builderId }),
    ...(policy && { policy }),
    ...(keyless && { keyless }),
  });
  if (required !== undefined) {
    const rebuilders = allowedRebuilders(options.rebuilderIds, policy?.rebuilds?.rebuilders);
    const checks = verifyRebuilds({
      artifacts,
      vsas,
      rebuilderKeys,
      minimum: required,
      ...(rebuilders && { rebuilders }),
      // The verdicts must be about THIS provenance: its bytes, its package, after its build.
      provenance: rebuiltProvenance(attestation.sha256, report.statement, options.resourceUri),
    });
    report.checks.push(...checks);
    report.passed = report.passed && checks.every((c) => c.name !== 'rebuilds' || c.passed);
  }
  return { ...report, attestation, artifacts };
}

/** What `kiln inspect` takes besides the file: keys and a trusted root to report signature status against. */
export interface InspectFileOptions {
  /** Public key files (PEM): signatures by them are reported as verified. */
  keys?: string[];
  /** A Sigstore trusted root (trusted_root.json), for certificate-signed bundles. */
  trustedRoot?: string;
}

/** `kiln inspect` as one call: reads an envelope, a `.intoto.jsonl` or a Sigstore bundle and says what it claims. */
export async function inspect(file: string, options: InspectFileOptions = {}): Promise<Inspection> {
  const attestation = await readAttestationFile(file);
  const keys = await readKeys(options.keys ?? []);
  const trustMaterial = options.trustedRoot === undefined ? undefined : await readTrustedRoot(options.trustedRoot);
  return inspectAttestation(attestation, { keys, ...(trustMaterial && { trustMaterial }) });
}

async function readKeys(files: string[]): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const file of files) keys.push(await readTrustedKey(file));
  return keys;
}

/** Rebuilders whose verdicts count: both lists must allow one when both are given (the policy's key pairings kept); undefined: any. */
function allowedRebuilders(ids: string[] | undefined, policy: AllowedRebuilder[] | undefined): AllowedRebuilder[] | undefined {
  if (ids === undefined) return policy;
  if (policy === undefined) return ids;
  return policy.filter((r) => ids.includes(typeof r === 'string' ? r : r.id));
}
