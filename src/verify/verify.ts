import {
  BUILD_TYPE_KILN_RECIPE_V1,
  decodePayload,
  PAYLOAD_TYPE_INTOTO,
  PREDICATE_SLSA_PROVENANCE_V1,
  statementFromPayload,
  verifyEnvelopeSignatures,
  type DsseEnvelope,
  type Statement,
  type TrustedKey,
} from '../attest/index.js';
import { isKilnError } from '../util/errors.js';
import { relativePathProblem } from '../util/relative-path.js';
import type { HashedArtifact } from './artifact.js';
import type { Attestation } from './attestation.js';
import { VerifyError } from './errors.js';
import { verifyKeylessBundle, type Check, type KeylessOptions, type TrustMaterial } from './keyless.js';
import { evaluatePolicy, type Policy } from './policy.js';

/** GitHub Actions workflows, as npm provenance records them (slsa-framework/github-actions-buildtypes). */
export const BUILD_TYPE_GITHUB_ACTIONS_WORKFLOW_V1 = 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1';
/** buildTypes whose meaning kiln knows; provenance of any other is rejected (SLSA verifying-artifacts step 2). */
export const KNOWN_BUILD_TYPES: readonly string[] = [BUILD_TYPE_KILN_RECIPE_V1, BUILD_TYPE_GITHUB_ACTIONS_WORKFLOW_V1];

export type VerifyCheck = Check;

/** Who signed what passed the `signature` check. */
export type VerifySigner =
  | { kind: 'key'; keyids: string[]; keys: string[] }
  | { kind: 'certificate'; identity?: string; issuer?: string };

export interface VerifyReport {
  passed: boolean;
  /**
   * In SLSA order: signature (and certificate-identity for keyless bundles), payloadType,
   * statement-type, predicate-type, subject:<artifact>…, builder-id, build-type,
   * dependencies-pinned, policy:<rule>…. The first four are gates: after one fails nothing
   * that depends on unauthenticated or uninterpretable bytes is evaluated.
   */
  checks: VerifyCheck[];
  /** The verified statement, once its bytes passed the signature check and parsed. */
  statement?: Statement;
  signer?: VerifySigner;
  /** For a `.intoto.jsonl`: the 1-based line of the envelope this report is about. */
  line?: number;
}

export interface VerifyInput {
  artifacts: HashedArtifact[];
  attestation: Attestation;
  /** Trusted public keys, for DSSE envelopes and key-based bundles. */
  keys: TrustedKey[];
  /** Expected `runDetails.builder.id`; unchecked when absent (the report says so). */
  builderId?: string;
  policy?: Policy;
  /** For keyless (certificate) bundles: the trusted root and the expected signer. */
  keyless?: KeylessOptions & { trustMaterial: TrustMaterial };
  /** Overrides KNOWN_BUILD_TYPES. */
  buildTypes?: readonly string[];
  /**
   * Insecure, for `kiln rebuild --insecure-ignore-signature` only: no signature is checked,
   * the `signature` check fails as "not checked" (so the report never passes) and the
   * statement checks run on the unauthenticated payload.
   */
  ignoreSignature?: boolean;
}

/**
 * The SLSA "verifying artifacts" procedure (slsa spec/verifying-artifacts.md), pure and
 * synchronous given loaded data (like sigstore-js' Verifier). A negative verdict is a report
 * with `passed: false`; only unusable input throws (VerifyError, exit 2): no artifact, no
 * trust configured for the attestation's kind, a keyless bundle without an expected identity.
 * A `.intoto.jsonl` may hold several envelopes (provenance, SBOM…): the first that passes
 * every check wins; if none does, the report of the one that got furthest is returned.
 */
export function verifyProvenance(input: VerifyInput): VerifyReport {
  if (input.artifacts.length === 0) throw new VerifyError('KILN_VERIFY_NO_ARTIFACT', 'no artifact to verify');
  return verifyProvenanceAttestation(input);
}

/**
 * The same procedure with no artifact at hand: every check but `subject:<artifact>`. What
 * `kiln rebuild` runs before any step, so a rebuild starts only from provenance that `kiln
 * verify` would accept from the same keys or identity (one code path for both).
 */
export function verifyProvenanceAttestation(input: Omit<VerifyInput, 'artifacts'> & { artifacts?: HashedArtifact[] }): VerifyReport {
  const full: VerifyInput = { ...input, artifacts: input.artifacts ?? [] };
  const { attestation } = full;
  switch (attestation.kind) {
    case 'dsse': {
      if (!full.ignoreSignature) assertKeys(full.keys, attestation.file);
      let best: VerifyReport | undefined;
      for (let i = 0; i < attestation.envelopes.length; i++) {
        const envelope = attestation.envelopes[i]!;
        const report = { ...(full.ignoreSignature ? verifyUnsigned(envelope, full) : verifyKeyed(envelope, full)), line: attestation.lines[i]! };
        if (report.passed) return report;
        if (!best || score(report) > score(best)) best = report;
      }
      return best!;
    }
    case 'sigstore': {
      if (full.ignoreSignature) return verifyUnsigned(attestation.envelope, full);
      if (!attestation.keyless) {
        // kiln's key-based bundle: the envelope inside is checked with --key like a plain one.
        assertKeys(full.keys, attestation.file);
        return verifyKeyed(attestation.envelope, full);
      }
      if (!full.keyless) {
        throw new VerifyError('KILN_VERIFY_NO_TRUST', `${attestation.file} is a keyless Sigstore bundle: it needs --trusted-root and the expected signer`, {
          hint: 'give --trusted-root trusted_root.json --certificate-identity … --certificate-oidc-issuer …',
        });
      }
      const result = verifyKeylessBundle(attestation.bundle, full.keyless.trustMaterial, full.keyless);
      const signer: VerifySigner | undefined = result.signer && { kind: 'certificate', ...result.signer };
      if (!result.payload) return { passed: false, checks: result.checks, ...(signer && { signer }) };
      return verifyStatement(result.checks, attestation.envelope.payloadType, result.payload, full, signer);
    }
  }
}

/** The reason the `signature` check carries when it was skipped on purpose. */
export const SIGNATURE_NOT_CHECKED = 'NOT CHECKED (--insecure-ignore-signature): anyone could have written this provenance';

/**
 * No signature checked (the caller asked, insecurely): the `signature` check fails with
 * SIGNATURE_NOT_CHECKED, so the report never passes, and the statement checks still run on
 * the unauthenticated payload so the caller learns what else is wrong.
 */
function verifyUnsigned(envelope: DsseEnvelope, input: VerifyInput): VerifyReport {
  const checks: Check[] = [{ name: 'signature', passed: false, reason: SIGNATURE_NOT_CHECKED }];
  let payload: Buffer;
  try {
    payload = decodePayload(envelope);
  } catch (err) {
    if (!isKilnError(err)) throw err;
    checks.push({ name: 'payloadType', passed: false, reason: err.message });
    return { passed: false, checks };
  }
  return verifyStatement(checks, envelope.payloadType, payload, input, undefined);
}

function assertKeys(keys: TrustedKey[], file: string): void {
  if (keys.length === 0) {
    throw new VerifyError('KILN_VERIFY_NO_TRUST', `${file} is signed with keys: give the trusted public key(s) with --key`, {
      hint: 'kiln keygen writes <name>.pub beside the private key',
    });
  }
}

/** How far a failed report got: its passed checks. */
function score(report: VerifyReport): number {
  return report.checks.filter((c) => c.passed).length;
}

/** Signature by ANY trusted key (DSSE protocol: t = 1), then the statement checks. */
function verifyKeyed(envelope: DsseEnvelope, input: VerifyInput): VerifyReport {
  let verified: ReturnType<typeof verifyEnvelopeSignatures>;
  try {
    verified = verifyEnvelopeSignatures(envelope, input.keys);
  } catch (err) {
    if (!isKilnError(err)) throw err;
    return { passed: false, checks: [{ name: 'signature', passed: false, reason: err.message }] };
  }
  const trusted = input.keys.filter((k) => verified.validKeyids.includes(k.keyid));
  // Signatures no trusted key made: reported, never counted. The keyid is an unauthenticated
  // hint (empty in cosign's envelopes), so it only names them.
  const others = envelope.signatures
    .map((s, i) => ({ i, keyid: s.keyid }))
    .filter((s) => verified.verifiedBy[s.i] === undefined)
    .map((s) => `signature ${s.i + 1}${s.keyid ? ` (keyid ${s.keyid})` : ''}`);
  if (trusted.length === 0) {
    const reason =
      `none of the ${verified.checked} signature(s) verifies with a trusted key (${input.keys.map((k) => `${k.label} ${k.keyid}`).join(', ')})` +
      (others.length > 0 ? `; not by a trusted key: ${others.join(', ')}` : '');
    return { passed: false, checks: [{ name: 'signature', passed: false, reason }] };
  }
  const reason =
    `signed by trusted key ${trusted.map((k) => `${k.label} (${k.keyid})`).join(', ')}` +
    (others.length > 0 ? `; ignored, not by a trusted key: ${others.join(', ')}` : '');
  const signer: VerifySigner = { kind: 'key', keyids: trusted.map((k) => k.keyid), keys: trusted.map((k) => k.label) };
  return verifyStatement([{ name: 'signature', passed: true, reason }], envelope.payloadType, verified.payload, input, signer);
}

/** Everything after the signature, on the payload bytes that were verified (never re-decoded). */
function verifyStatement(checks: Check[], payloadType: string, payload: Buffer, input: VerifyInput, signer: VerifySigner | undefined): VerifyReport {
  const done = (statement?: Statement): VerifyReport => ({
    passed: checks.every((c) => c.passed),
    checks,
    ...(statement && { statement }),
    ...(signer && { signer }),
  });

  // slsa-verifier and cosign accept exactly this type; the in-toto `vnd.in-toto.<predicate>+json`
  // form would be legal but no other verifier reads it, so kiln neither writes nor accepts it.
  if (payloadType !== PAYLOAD_TYPE_INTOTO) {
    checks.push({ name: 'payloadType', passed: false, reason: `payloadType is ${JSON.stringify(payloadType)}, expected ${PAYLOAD_TYPE_INTOTO}` });
    return done();
  }
  checks.push({ name: 'payloadType', passed: true, reason: PAYLOAD_TYPE_INTOTO });

  let statement: Statement;
  try {
    statement = statementFromPayload(payload);
  } catch (err) {
    if (!isKilnError(err)) throw err;
    checks.push({ name: 'statement-type', passed: false, reason: err.message + (err.found ? ` (found ${err.found})` : '') });
    return done();
  }
  checks.push({ name: 'statement-type', passed: true, reason: statement._type });

  if (statement.predicateType !== PREDICATE_SLSA_PROVENANCE_V1) {
    checks.push({ name: 'predicate-type', passed: false, reason: `predicateType is ${statement.predicateType}, expected ${PREDICATE_SLSA_PROVENANCE_V1}` });
    return done(statement);
  }
  checks.push({ name: 'predicate-type', passed: true, reason: PREDICATE_SLSA_PROVENANCE_V1 });

  const predicate = asRecord(statement.predicate);
  const buildDefinition = asRecord(predicate.buildDefinition);
  // kiln's buildType makes each subject name a path under the output folder (docs/buildtypes/recipe-v1.md).
  checks.push(checkSubjectNames(statement.subject, buildDefinition.buildType === BUILD_TYPE_KILN_RECIPE_V1));
  for (const artifact of input.artifacts) checks.push(checkSubject(artifact, statement));

  const builderId = asRecord(asRecord(predicate.runDetails).builder).id;
  checks.push(checkBuilderId(builderId, input.builderId));

  const buildTypes = input.buildTypes ?? KNOWN_BUILD_TYPES;
  const buildType = buildDefinition.buildType;
  checks.push(
    typeof buildType === 'string' && buildTypes.includes(buildType)
      ? { name: 'build-type', passed: true, reason: buildType }
      : { name: 'build-type', passed: false, reason: `unknown buildType ${JSON.stringify(buildType ?? null)}; known: ${buildTypes.join(', ')}` },
  );

  checks.push(checkDependencies(buildDefinition.resolvedDependencies));

  if (input.policy) {
    const results = evaluatePolicy(input.policy, {
      statement,
      predicate: statement.predicate ?? {},
      subject: statement.subject,
      artifacts: input.artifacts.map((a) => ({ name: a.name, size: a.size, sha256: a.digests.sha256, sha512: a.digests.sha512 })),
    });
    for (const r of results) checks.push({ name: `policy:${r.name}`, passed: r.passed, reason: r.reason });
  }
  return done(statement);
}

/**
 * A subject matches when every algorithm it shares with what we computed (sha256, sha512)
 * has the same value, and it shares at least one: a subject whose sha256 matches but whose
 * sha512 does not describes other bytes (in-toto digest_set.md: unknown algorithms ignored).
 */
export function subjectMatches(digests: HashedArtifact['digests'], subjectDigest: Record<string, string>): boolean {
  let shared = 0;
  for (const alg of ['sha256', 'sha512'] as const) {
    const value = subjectDigest[alg];
    if (value === undefined) continue;
    if (value.toLowerCase() !== digests[alg]) return false;
    shared++;
  }
  return shared > 0;
}

/**
 * Subject names, one check: no name twice (a rebuilder compares by name, and a repeated name
 * lets a provenance vouch for two digests under one artifact), and, where names are paths
 * (`paths`, kiln's buildType), every name a normalized relative path (relativePathProblem).
 * Other builders' unnamed subjects and `_` (in-toto: "name not meaningful") are not compared.
 */
export function checkSubjectNames(subjects: ReadonlyArray<{ name?: string }>, paths: boolean): Check {
  const name = 'subject-names';
  const seen = new Set<string>();
  const repeated = new Set<string>();
  const problems: string[] = [];
  subjects.forEach((s, i) => {
    if (typeof s.name !== 'string') {
      if (paths) problems.push(`subject ${i + 1} has no name`);
      return;
    }
    if (paths) {
      const problem = relativePathProblem(s.name);
      if (problem) problems.push(`subject ${JSON.stringify(s.name)} ${problem}`);
    } else if (s.name === '_') {
      return;
    }
    if (seen.has(s.name)) repeated.add(s.name);
    seen.add(s.name);
  });
  if (repeated.size > 0) problems.unshift(`subject name${repeated.size === 1 ? '' : 's'} repeated: ${[...repeated].slice(0, 5).map((n) => JSON.stringify(n)).join(', ')}${repeated.size > 5 ? ', …' : ''}`);
  if (problems.length > 0) return { name, passed: false, reason: problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; … ${problems.length - 5} more` : '') };
  return { name, passed: true, reason: `${subjects.length} subject${subjects.length === 1 ? '' : 's'}, ${paths ? 'each a relative path, ' : ''}no name repeated` };
}

function checkSubject(artifact: HashedArtifact, statement: Statement): Check {
  const name = `subject:${artifact.name}`;
  const match = statement.subject.find((s) => subjectMatches(artifact.digests, s.digest));
  if (match) {
    const algs = (['sha256', 'sha512'] as const).filter((a) => match.digest[a] !== undefined).join('+');
    return { name, passed: true, reason: `${algs} matches subject ${JSON.stringify(match.name ?? '_')}` };
  }
  // Show the artifact's digests in the algorithms the subjects use (npm: sha512 only).
  const used = (['sha256', 'sha512'] as const).filter((a) => statement.subject.some((s) => s.digest[a] !== undefined));
  const shown = (used.length > 0 ? used : (['sha256'] as const)).map((a) => `${a}:${artifact.digests[a]}`).join(' ');
  const names = statement.subject.slice(0, 3).map((s) => JSON.stringify(s.name ?? '_'));
  if (statement.subject.length > 3) names.push('…');
  return { name, passed: false, reason: `${shown} is not the digest of any of the ${statement.subject.length} subject(s) (${names.join(', ')})` };
}

function checkBuilderId(found: unknown, expected: string | undefined): Check {
  if (typeof found !== 'string' || found === '') return { name: 'builder-id', passed: false, reason: 'the provenance names no runDetails.builder.id' };
  if (expected === undefined) return { name: 'builder-id', passed: true, reason: `${found} (not checked: no --builder-id given)` };
  if (found !== expected) return { name: 'builder-id', passed: false, reason: `builder is ${found}, expected ${expected}` };
  return { name: 'builder-id', passed: true, reason: found };
}

/**
 * Algorithms that pin a dependency, with their hex lengths. sha1 and md5 alone do not (they
 * are not collision resistant); git object ids do, as git's own pin of source.
 */
const PINNING_ALGORITHMS: Record<string, readonly number[]> = {
  sha256: [64],
  sha384: [96],
  sha512: [128],
  sha512_256: [64],
  sha3_256: [64],
  sha3_384: [96],
  sha3_512: [128],
  gitCommit: [40, 64],
  gitTree: [40, 64],
  gitBlob: [40, 64],
  gitTag: [40, 64],
  dirHash: [64],
};
const HEX = /^[0-9a-f]+$/;

/** True when a ResourceDescriptor carries at least one well-formed digest of a pinning algorithm. */
export function isPinned(dependency: unknown): boolean {
  const digest = asRecord(asRecord(dependency).digest);
  return Object.entries(digest).some(([alg, value]) => typeof value === 'string' && PINNING_ALGORITHMS[alg]?.includes(value.length) === true && HEX.test(value));
}

function checkDependencies(value: unknown): Check {
  const name = 'dependencies-pinned';
  if (value === undefined || value === null) return { name, passed: true, reason: 'no resolved dependencies listed' };
  if (!Array.isArray(value)) return { name, passed: false, reason: 'resolvedDependencies is not a list' };
  const unpinned: string[] = [];
  value.forEach((dep: unknown, i) => {
    if (!isPinned(dep)) {
      const d = asRecord(dep);
      unpinned.push(typeof d.uri === 'string' ? d.uri : typeof d.name === 'string' ? d.name : `#${i + 1}`);
    }
  });
  if (unpinned.length === 0) return { name, passed: true, reason: `${value.length} resolved ${value.length === 1 ? 'dependency' : 'dependencies'}, each pinned by digest` };
  return {
    name,
    passed: false,
    reason: `${unpinned.length} of ${value.length} resolved dependencies have no digest that pins them: ${unpinned.slice(0, 5).join(', ')}${unpinned.length > 5 ? ', …' : ''}`,
  };
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
