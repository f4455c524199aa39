import { PREDICATE_SLSA_VSA_V1, STATEMENT_TYPE_V1, type Statement } from '../attest/types.js';

/** kiln's rebuild policy: every subject rebuilt from the provenance alone, bit for bit. */
export const REBUILD_POLICY_URI = 'https://kiln.example.org/policies/rebuild-bit-for-bit/v1';

/**
 * The verified property a PASSED rebuild claims. Not `SLSA_BUILD_REPRODUCED` on purpose: that
 * needs provenance from two independent trusted platforms, and slsa-verifier rejects any
 * `SLSA_` value that is not a level (specs.md §4.3). Custom values must not start with `SLSA_`.
 */
export const VERIFIED_REBUILT_BIT_FOR_BIT = 'KILN_REBUILT_BIT_FOR_BIT';

export interface VsaPredicate {
  verifier: { id: string; version: Record<string, string> };
  timeVerified: string;
  resourceUri: string;
  policy: { uri: string };
  inputAttestations: Array<{ uri: string; digest: Record<string, string> }>;
  verificationResult: 'PASSED' | 'FAILED';
  verifiedLevels: string[];
}

export interface VsaOptions {
  subjects: Statement['subject'];
  verifierId: string;
  kilnVersion: string;
  resourceUri: string;
  provenance: { uri: string; sha256: string };
  reproduced: boolean;
  timeVerified: string;
}

/** Pure: the SLSA VSA v1 statement of a rebuild verdict (subject = the original artifacts' digests). */
export function buildVsa(options: VsaOptions): Statement<VsaPredicate> {
  return {
    _type: STATEMENT_TYPE_V1,
    subject: options.subjects.map((s) => ({ name: s.name, digest: { ...s.digest } })),
    predicateType: PREDICATE_SLSA_VSA_V1,
    predicate: {
      verifier: { id: options.verifierId, version: { kiln: options.kilnVersion } },
      timeVerified: options.timeVerified,
      resourceUri: options.resourceUri,
      policy: { uri: REBUILD_POLICY_URI },
      inputAttestations: [{ uri: options.provenance.uri, digest: { sha256: options.provenance.sha256 } }],
      verificationResult: options.reproduced ? 'PASSED' : 'FAILED',
      verifiedLevels: options.reproduced ? [VERIFIED_REBUILT_BIT_FOR_BIT] : ['FAILED'],
    },
  };
}
