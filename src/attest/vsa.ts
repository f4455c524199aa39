import { createRequire } from 'node:module';
import { AttestError } from './errors.js';
import { assertDigestSet } from './statement.js';
import { PREDICATE_SLSA_VSA_V1, STATEMENT_TYPE_V1, type DigestSet, type Statement } from './types.js';

/**
 * SLSA Verification Summary Attestation v1 (slsa.dev/spec/v1.1/verification_summary): what
 * `kiln rebuild` signs, and what `kiln verify --rebuilds` reads. Pure.
 */

/** kiln's rebuild policy: every subject rebuilt from the provenance alone, bit for bit. */
export const REBUILD_POLICY_URI = 'https://kiln.example.org/policies/rebuild-bit-for-bit/v1';

/**
 * The verified property a PASSED rebuild claims. Not `SLSA_BUILD_REPRODUCED` on purpose: that
 * needs provenance from two independent trusted platforms, and slsa-verifier rejects any
 * `SLSA_` value that is not a level (specs.md §4.3). Custom values must not start with `SLSA_`.
 */
export const VERIFIED_REBUILT_BIT_FOR_BIT = 'KILN_REBUILT_BIT_FOR_BIT';

export interface VsaPredicate {
  verifier: { id: string; version?: Record<string, string> };
  timeVerified: string;
  resourceUri: string;
  policy: { uri: string; digest?: DigestSet };
  /** The attestations the verdict was made from; kiln lists the provenance file it rebuilt from. */
  inputAttestations?: Array<{ uri?: string; digest: DigestSet }>;
  verificationResult: 'PASSED' | 'FAILED';
  verifiedLevels: string[];
}

export interface VsaOptions {
  /**
   * What the verdict is about. For PASSED: the artifacts as rebuilt (names and digests
   * computed from the rebuilt bytes, each equal to the provenance's claim); never the
   * provenance's subject list copied.
   */
  subjects: Array<{ name: string; digest: DigestSet }>;
  verifierId: string;
  kilnVersion: string;
  /**
   * Where the rebuild's steps ran, as the build summary names its engine (`docker 20.10.24`,
   * `reapi grpc://farm:8980/instance (REAPI 2.0–2.3)`): `verifier.version.engine`.
   */
  engine?: string;
  resourceUri: string;
  /** The provenance file rebuilt from: its name and the sha256 of its bytes. */
  provenance: { uri: string; sha256: string };
  reproduced: boolean;
  timeVerified: string;
}

/** Pure: the SLSA VSA v1 statement of a rebuild verdict. */
export function buildVsa(options: VsaOptions): Statement<VsaPredicate> {
  return {
    _type: STATEMENT_TYPE_V1,
    subject: options.subjects.map((s) => ({ name: s.name, digest: { ...s.digest } })),
    predicateType: PREDICATE_SLSA_VSA_V1,
    predicate: {
      verifier: { id: options.verifierId, version: { kiln: options.kilnVersion, ...(options.engine !== undefined && { engine: options.engine }) } },
      timeVerified: options.timeVerified,
      resourceUri: options.resourceUri,
      policy: { uri: REBUILD_POLICY_URI },
      inputAttestations: [{ uri: options.provenance.uri, digest: { sha256: options.provenance.sha256 } }],
      verificationResult: options.reproduced ? 'PASSED' : 'FAILED',
      verifiedLevels: options.reproduced ? [VERIFIED_REBUILT_BIT_FOR_BIT] : ['FAILED'],
    },
  };
}

/**
 * Checks that a statement is a VSA v1 with every field the spec requires, of the right type
 * (unknown fields ignored, as the parsing rules say). Throws AttestError KILN_ATTEST_BAD_VSA
 * naming the field. Values are not judged here (which verifier, which policy): that is the
 * verifier's job (verify/rebuilds.ts).
 */
export function vsaFromStatement(statement: Statement): Statement<VsaPredicate> {
  if (statement.predicateType !== PREDICATE_SLSA_VSA_V1) throw bad(`predicateType is ${JSON.stringify(statement.predicateType)}, not ${PREDICATE_SLSA_VSA_V1}`);
  const p = record(statement.predicate, 'predicate');
  const verifier = record(p.verifier, 'verifier');
  nonEmptyString(verifier.id, 'verifier.id');
  if (verifier.version !== undefined) {
    const version = record(verifier.version, 'verifier.version');
    for (const [k, v] of Object.entries(version)) if (typeof v !== 'string') throw bad(`verifier.version.${k} is not a string`);
  }
  nonEmptyString(p.timeVerified, 'timeVerified');
  nonEmptyString(p.resourceUri, 'resourceUri');
  const policy = record(p.policy, 'policy');
  nonEmptyString(policy.uri, 'policy.uri');
  if (policy.digest !== undefined) digestSet(policy.digest, 'policy.digest');
  if (p.inputAttestations !== undefined) {
    if (!Array.isArray(p.inputAttestations)) throw bad('inputAttestations is not a list');
    p.inputAttestations.forEach((entry: unknown, i: number) => {
      const e = record(entry, `inputAttestations[${i}]`);
      digestSet(e.digest, `inputAttestations[${i}].digest`);
      if (e.uri !== undefined && typeof e.uri !== 'string') throw bad(`inputAttestations[${i}].uri is not a string`);
    });
  }
  if (p.verificationResult !== 'PASSED' && p.verificationResult !== 'FAILED') throw bad('verificationResult is neither "PASSED" nor "FAILED"');
  if (!Array.isArray(p.verifiedLevels) || !p.verifiedLevels.every((l: unknown) => typeof l === 'string')) throw bad('verifiedLevels is not a list of strings');
  return statement as Statement<VsaPredicate>;
}

/**
 * The resourceUri of a kiln rebuild verdict: `pkg:generic/<name>[@<version>]` of the recipe
 * the provenance embeds (the package the artifacts are a release of). Both the rebuilder and
 * the auditor derive it from the provenance, so a verdict about one package cannot be passed
 * off for another (SLSA: resourceUri prevents confusion attacks). Undefined when the recipe
 * text names no package.
 */
export function rebuildResourceUri(recipeContent: string): string | undefined {
  const { name, version } = recipeHeader(recipeContent);
  if (name === undefined) return undefined;
  return `pkg:generic/${encodeURIComponent(name)}${version !== undefined ? `@${encodeURIComponent(version)}` : ''}`;
}

/** The recipe's `name` and `version`, read leniently from its text (no schema): display and resourceUri only. */
export function recipeHeader(content: string | undefined): { name?: string; version?: string } {
  if (content === undefined) return {};
  // An envelope need not be signed, so its recipe may be as large as an attacker likes: a
  // small recipe is parsed whole, a larger one only has its top-level name and version lines read.
  const doc = content.length <= RECIPE_HEADER_PARSE_BYTES ? yamlRecord(content) : topLevelLines(content);
  const { name, version } = doc;
  return { ...(typeof name === 'string' && { name }), ...(typeof version === 'string' && { version }) };
}

/** Recipes up to this size are parsed whole for their name and version; larger ones are scanned. */
const RECIPE_HEADER_PARSE_BYTES = 64 * 1024;

function topLevelLines(content: string): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  for (const key of ['name', 'version']) {
    const line = new RegExp(`^${key}:[ \\t][^\\n]{0,1024}$`, 'm').exec(content);
    if (line) found[key] = yamlRecord(line[0])[key];
  }
  return found;
}

function yamlRecord(text: string): Record<string, unknown> {
  try {
    // Loaded on first use (~60 ms): `kiln keygen` and signing reach this module and never parse YAML.
    const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    const doc: unknown = parse(text, { maxAliasCount: 100, uniqueKeys: false });
    return typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function bad(message: string): AttestError {
  return new AttestError('KILN_ATTEST_BAD_VSA', `VSA: ${message}`);
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`${what} is not an object`);
  return value as Record<string, unknown>;
}

function nonEmptyString(value: unknown, what: string): void {
  if (typeof value !== 'string' || value === '') throw bad(`${what} is missing or not a string`);
}

function digestSet(value: unknown, what: string): void {
  try {
    assertDigestSet(value, what);
  } catch (err) {
    throw bad((err as Error).message);
  }
}
