import {
  rebuildResourceUri,
  REBUILD_POLICY_URI,
  statementFromPayload,
  VERIFIED_REBUILT_BIT_FOR_BIT,
  verifyEnvelopeSignatures,
  vsaFromStatement,
  type DsseEnvelope,
  type Statement,
  type TrustedKey,
  type VsaPredicate,
} from '../attest/index.js';
import { isKilnError } from '../util/errors.js';
import type { HashedArtifact } from './artifact.js';
import type { Attestation } from './attestation.js';
import type { AllowedRebuilder } from './policy.js';
import { subjectMatches, type VerifyCheck } from './verify.js';

/** The provenance the rebuild verdicts must be about. */
export interface RebuiltProvenance {
  /** Lowercase hex sha256 of the provenance file's bytes (Attestation.sha256). */
  sha256: string;
  /**
   * The resourceUri a verdict must carry: for kiln provenance `pkg:generic/<name>@<version>`
   * of its recipe (rebuildResourceUri), or what the user gave (`--resource-uri`). Undefined:
   * no VSA can match, and each says why.
   */
  resourceUri?: string;
  /** The provenance's runDetails.metadata.finishedOn: no rebuild verdict can predate it. */
  finishedOn?: string;
}

export interface RebuildsInput {
  artifacts: HashedArtifact[];
  /** VSA files (rebuild verdicts), as parsed. */
  vsas: Attestation[];
  rebuilderKeys: TrustedKey[];
  minimum: number;
  /** When given, only VSAs from these rebuilders count: a verifier id, or an (id, key fingerprint) pair. */
  rebuilders?: AllowedRebuilder[];
  provenance: RebuiltProvenance;
  /** The time timeVerified is judged against; default now. */
  now?: Date;
}

/**
 * How far apart two honest clocks may be: a verdict may claim a time this much after `now`,
 * or this much before the original build finished (another machine's clock), and still count.
 */
export const CLOCK_SKEW_MS = 10 * 60_000;

/**
 * Pure: k-of-n independent rebuild verdicts. Each VSA is judged by the SLSA VSA procedure
 * (slsa.dev/spec/v1.1/verification_summary; "How to verify" in v1.2), in its order:
 * (1) signed by a trusted rebuilder key; (3) a VSA v1 with every required field; (4) a
 * verifier id, one the policy lists when it lists any; (5) `resourceUri` equal to the one the
 * provenance implies; `policy.uri` kiln's bit-for-bit rebuild policy; (6) PASSED; (7)
 * `verifiedLevels` holding KILN_REBUILT_BIT_FOR_BIT; `timeVerified` a timestamp no later than
 * now and no earlier than the original build; `inputAttestations` naming THIS provenance's
 * sha256 (a rebuild of another provenance of the same bytes vouches for other claims); and
 * (2) every artifact's digest among its subjects. Distinct means distinct signing keys AND
 * distinct verifier ids: one rebuilder's many verdicts count once.
 */
export function verifyRebuilds(input: RebuildsInput): VerifyCheck[] {
  const checks: VerifyCheck[] = [];
  const counted = new Map<string, string>(); // keyid -> verifier id
  for (const vsa of input.vsas) {
    const envelopes = vsa.kind === 'dsse' ? vsa.envelopes : [vsa.envelope];
    let verdict: VerifyCheck = { name: `rebuild:${vsa.file}`, passed: false, reason: 'no envelope in the file' };
    for (const envelope of envelopes) {
      const judged = judgeVsa(envelope, input);
      if (!judged.passed) {
        verdict = { ...verdict, reason: judged.reason };
        continue;
      }
      const { keyid, verifier } = judged;
      const again = counted.has(keyid) || [...counted.values()].includes(verifier);
      verdict = { ...verdict, passed: true, reason: `PASSED by ${verifier} (key ${keyid})${again ? ', but that rebuilder was already counted' : ''}` };
      if (!again) counted.set(keyid, verifier);
      break;
    }
    checks.push(verdict);
  }
  checks.push({
    name: 'rebuilds',
    passed: counted.size >= input.minimum,
    reason: `${counted.size} distinct trusted rebuilder${counted.size === 1 ? '' : 's'} reproduced it; at least ${input.minimum} required`,
  });
  return checks;
}

type Judged = { passed: true; keyid: string; verifier: string } | { passed: false; reason: string };

/** One envelope through the procedure; the first step that fails is the reason. */
function judgeVsa(envelope: DsseEnvelope, input: RebuildsInput): Judged {
  let verified: { payload: Buffer; validKeyids: string[] };
  try {
    verified = verifyEnvelopeSignatures(envelope, input.rebuilderKeys);
  } catch (err) {
    if (!isKilnError(err)) throw err;
    return { passed: false, reason: err.message };
  }
  const keyid = verified.validKeyids[0];
  if (keyid === undefined) return { passed: false, reason: 'not signed by a trusted rebuilder key' };
  let statement: Statement<VsaPredicate>;
  try {
    statement = vsaFromStatement(statementFromPayload(verified.payload));
  } catch (err) {
    if (!isKilnError(err)) throw err;
    return { passed: false, reason: `not a SLSA VSA v1: ${err.message}` };
  }
  const verifier = statement.predicate.verifier.id;
  if (input.rebuilders) {
    const allowed = input.rebuilders.filter((r) => (typeof r === 'string' ? r : r.id) === verifier);
    if (allowed.length === 0) return { passed: false, reason: `verifier ${verifier} is not one the policy lists` };
    const pairedKeyid = allowed.some((r) => typeof r === 'string') ? keyid : verified.validKeyids.find((k) => allowed.some((r) => typeof r !== 'string' && r.key === k));
    // SLSA: consumers MUST accept only specific (signer, verifier) pairs.
    if (pairedKeyid === undefined) return { passed: false, reason: `verifier ${verifier} may only be signed for by ${allowed.map((r) => (typeof r === 'string' ? r : r.key)).join(', ')}, not by key ${keyid}` };
    return judgeRest(statement, input, pairedKeyid, verifier);
  }
  return judgeRest(statement, input, keyid, verifier);
}

/** Steps (5) to (9): what the verdict is about, once its signer and verifier are accepted. */
function judgeRest(statement: Statement<VsaPredicate>, input: RebuildsInput, keyid: string, verifier: string): Judged {
  const p = statement.predicate;
  const expectedUri = input.provenance.resourceUri;
  if (expectedUri === undefined) return { passed: false, reason: 'no expected resourceUri: the provenance names no kiln recipe; give --resource-uri' };
  if (p.resourceUri !== expectedUri) return { passed: false, reason: `resourceUri is ${p.resourceUri}, expected ${expectedUri}` };
  if (p.policy.uri !== REBUILD_POLICY_URI) return { passed: false, reason: `policy ${p.policy.uri} is not kiln's rebuild policy ${REBUILD_POLICY_URI}` };
  if (p.verificationResult !== 'PASSED') return { passed: false, reason: `verifier ${verifier} says ${p.verificationResult}` };
  if (!p.verifiedLevels.includes(VERIFIED_REBUILT_BIT_FOR_BIT) || p.verifiedLevels.includes('FAILED')) {
    return { passed: false, reason: `verifiedLevels ${JSON.stringify(p.verifiedLevels)} do not say ${VERIFIED_REBUILT_BIT_FOR_BIT}` };
  }
  const timeProblem = timeVerifiedProblem(p.timeVerified, input.provenance.finishedOn, input.now ?? new Date());
  if (timeProblem) return { passed: false, reason: timeProblem };
  const inputs = p.inputAttestations ?? [];
  if (!inputs.some((a) => typeof a.digest.sha256 === 'string' && a.digest.sha256.toLowerCase() === input.provenance.sha256)) {
    return { passed: false, reason: `the verdict is about another provenance: its inputAttestations do not name sha256:${input.provenance.sha256}` };
  }
  const missing = input.artifacts.filter((a) => !statement.subject.some((s) => subjectMatches(a.digests, s.digest)));
  if (missing.length > 0) return { passed: false, reason: `the VSA's subject does not name ${missing.map((a) => a.name).join(', ')}` };
  return { passed: true, keyid, verifier };
}

/** RFC 3339 with a zone (in-toto Timestamp), e.g. 2026-01-02T03:04:05Z or …05.123+01:00. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Why a VSA's timeVerified cannot be believed, or undefined. */
export function timeVerifiedProblem(timeVerified: string, provenanceFinishedOn: string | undefined, now: Date): string | undefined {
  const at = RFC3339.test(timeVerified) ? Date.parse(timeVerified) : NaN;
  if (!Number.isFinite(at)) return `timeVerified ${JSON.stringify(timeVerified)} is not an RFC 3339 timestamp`;
  if (at > now.getTime() + CLOCK_SKEW_MS) return `timeVerified ${timeVerified} is in the future`;
  const built = provenanceFinishedOn === undefined ? NaN : Date.parse(provenanceFinishedOn);
  if (Number.isFinite(built) && at < built - CLOCK_SKEW_MS) return `timeVerified ${timeVerified} is before the original build finished (${provenanceFinishedOn})`;
  return undefined;
}

/**
 * What the verdicts must be about, from the provenance as verified: its file's sha256, the
 * resourceUri its embedded kiln recipe implies (or `resourceUri` when the user gave one), and
 * when it finished. `statement` is the verified statement (undefined when verification did not
 * get that far: then no resourceUri is derived and no verdict can count).
 */
export function rebuiltProvenance(sha256: string, statement: Statement | undefined, resourceUri?: string): RebuiltProvenance {
  const predicate = record(statement?.predicate);
  const recipe = record(record(record(predicate.buildDefinition).externalParameters).recipe);
  const finishedOn = record(record(predicate.runDetails).metadata).finishedOn;
  const derived = typeof recipe.content === 'string' ? rebuildResourceUri(recipe.content) : undefined;
  const uri = resourceUri ?? derived;
  return { sha256, ...(uri !== undefined && { resourceUri: uri }), ...(typeof finishedOn === 'string' && { finishedOn }) };
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
