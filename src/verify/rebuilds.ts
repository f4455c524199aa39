import { decodePayload, PREDICATE_SLSA_VSA_V1, statementFromPayload, verifyEnvelopeSignatures, type TrustedKey } from '../attest/index.js';
import type { HashedArtifact } from './artifact.js';
import type { Attestation } from './attestation.js';
import type { VerifyCheck } from './verify.js';

export interface RebuildsInput {
  artifacts: HashedArtifact[];
  /** VSA files (rebuild verdicts), as parsed. */
  vsas: Attestation[];
  rebuilderKeys: TrustedKey[];
  minimum: number;
  /** When given, only VSAs from these verifier ids count. */
  rebuilders?: string[];
}

/**
 * Pure: k-of-n independent rebuild verdicts (SLSA VSA verification, spec §"How to verify"):
 * each VSA must be signed by a trusted rebuilder key, be a VSA v1, say PASSED, and name every
 * artifact's digest in its subject. Distinct means distinct signing keys AND distinct
 * verifier ids: one rebuilder's many verdicts count once.
 */
export function verifyRebuilds(input: RebuildsInput): VerifyCheck[] {
  const checks: VerifyCheck[] = [];
  const counted = new Map<string, string>(); // keyid -> verifier id
  for (const vsa of input.vsas) {
    const envelopes = vsa.kind === 'dsse' ? vsa.envelopes : [vsa.envelope];
    let verdict: VerifyCheck = { name: `rebuild:${vsa.file}`, passed: false, reason: 'no envelope in the file' };
    for (const envelope of envelopes) {
      const { validKeyids } = verifyEnvelopeSignatures(envelope, input.rebuilderKeys);
      if (validKeyids.length === 0) {
        verdict = { ...verdict, reason: 'not signed by a trusted rebuilder key' };
        continue;
      }
      let statement;
      try {
        statement = statementFromPayload(decodePayload(envelope));
      } catch (err) {
        verdict = { ...verdict, reason: `not an in-toto statement: ${(err as Error).message}` };
        continue;
      }
      const predicate = statement.predicate as { verifier?: { id?: string }; verificationResult?: string };
      const verifier = predicate.verifier?.id;
      if (statement.predicateType !== PREDICATE_SLSA_VSA_V1) verdict = { ...verdict, reason: `predicateType ${statement.predicateType}, not a VSA v1` };
      else if (!verifier) verdict = { ...verdict, reason: 'the VSA names no verifier.id' };
      else if (input.rebuilders && !input.rebuilders.includes(verifier)) verdict = { ...verdict, reason: `verifier ${verifier} is not one the policy lists` };
      else if (predicate.verificationResult !== 'PASSED') verdict = { ...verdict, reason: `verifier ${verifier} says ${String(predicate.verificationResult)}` };
      else {
        const missing = input.artifacts.filter(
          (a) => !statement.subject.some((s) => {
            const common = (['sha256', 'sha512'] as const).filter((alg) => s.digest[alg] !== undefined);
            return common.length > 0 && common.every((alg) => s.digest[alg] === a.digests[alg]);
          }),
        );
        if (missing.length > 0) verdict = { ...verdict, reason: `the VSA's subject does not name ${missing.map((a) => a.name).join(', ')}` };
        else {
          const keyid = validKeyids[0]!;
          const sameVerifier = [...counted.values()].includes(verifier);
          verdict = { ...verdict, passed: true, reason: `PASSED by ${verifier} (key ${keyid})${counted.has(keyid) || sameVerifier ? ', but that rebuilder was already counted' : ''}` };
          if (!counted.has(keyid) && !sameVerifier) counted.set(keyid, verifier);
          break;
        }
      }
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
