import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJSON } from '../util/canonical-json.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import { toSigstoreBundle } from './bundle.js';
import { envelopeToJSON, signEnvelope } from './dsse.js';
import { AttestError } from './errors.js';
import { makeStatement } from './statement.js';
import { PAYLOAD_TYPE_INTOTO, PREDICATE_CYCLONEDX, type Signer, type Statement } from './types.js';

/** Suffixes of the files written beside the artifacts. */
export const ATTESTATION_SUFFIXES = {
  envelopes: '.intoto.jsonl',
  bundle: '.sigstore.json',
  sbom: '.cdx.json',
  unsigned: '.statement.json',
} as const;

export const UNSIGNED_STATEMENTS_FORMAT = 'kiln-unsigned-statements/v1';

/** The content of `<name>.statement.json`: statements nobody signed, and saying so. */
export interface UnsignedStatements {
  kiln: typeof UNSIGNED_STATEMENTS_FORMAT;
  signed: false;
  note: string;
  statements: Statement[];
}

/**
 * The statement serialized for signing: canonical JSON, so the same statement is always the
 * same signed bytes.
 */
export function statementBytes(statement: Statement): Buffer {
  return Buffer.from(canonicalJSON(statement), 'utf8');
}

/**
 * Writes the attestations of one build into `out`:
 * - signed: `<name>.intoto.jsonl` (one DSSE envelope a line: the provenance, then the SBOM
 *   statement when given), `<name>.sigstore.json` (a Sigstore bundle of the provenance
 *   envelope);
 * - unsigned (no signer): `<name>.statement.json`, the statements in the clear and marked
 *   unsigned, because a DSSE envelope needs at least one signature;
 * - either way `<name>.cdx.json`, the plain CycloneDX SBOM, when one is given.
 * Every file is written whole to a temp file and renamed into place. Files of the other mode
 * left by an earlier run are removed, so `out` never shows a signature over another build.
 */
export async function writeAttestations(
  out: string,
  name: string,
  statements: { provenance: Statement; sbom?: object },
  signer?: Signer,
): Promise<{ files: string[]; signed: boolean }> {
  const all: Statement[] = [statements.provenance];
  if (statements.sbom) all.push(makeStatement(statements.provenance.subject, PREDICATE_CYCLONEDX, statements.sbom));
  const path = (suffix: string) => join(out, `${name}${suffix}`);
  const files: string[] = [];
  try {
    await mkdir(out, { recursive: true });
    if (signer) {
      const envelopes = all.map((s) => signEnvelope(statementBytes(s), PAYLOAD_TYPE_INTOTO, [signer]));
      await writeFileAtomic(path(ATTESTATION_SUFFIXES.envelopes), envelopes.map((e) => envelopeToJSON(e) + '\n').join(''));
      files.push(path(ATTESTATION_SUFFIXES.envelopes));
      await writeFileAtomic(path(ATTESTATION_SUFFIXES.bundle), JSON.stringify(toSigstoreBundle(envelopes[0]!, signer), null, 2) + '\n');
      files.push(path(ATTESTATION_SUFFIXES.bundle));
      await rm(path(ATTESTATION_SUFFIXES.unsigned), { force: true });
    } else {
      const unsigned: UnsignedStatements = {
        kiln: UNSIGNED_STATEMENTS_FORMAT,
        signed: false,
        note: 'not signed: no signing key was given (--sign-key or KILN_SIGN_KEY); nothing here is authenticated',
        statements: all,
      };
      await writeFileAtomic(path(ATTESTATION_SUFFIXES.unsigned), JSON.stringify(unsigned, null, 2) + '\n');
      files.push(path(ATTESTATION_SUFFIXES.unsigned));
      await rm(path(ATTESTATION_SUFFIXES.envelopes), { force: true });
      await rm(path(ATTESTATION_SUFFIXES.bundle), { force: true });
    }
    if (statements.sbom) {
      await writeFileAtomic(path(ATTESTATION_SUFFIXES.sbom), JSON.stringify(statements.sbom, null, 2) + '\n');
      files.push(path(ATTESTATION_SUFFIXES.sbom));
    } else {
      await rm(path(ATTESTATION_SUFFIXES.sbom), { force: true });
    }
  } catch (err) {
    if (err instanceof AttestError) throw err;
    throw new AttestError('KILN_ATTEST_WRITE', `cannot write attestations into ${out}: ${(err as Error).message}`, { cause: err, where: { file: out } });
  }
  return { files, signed: signer !== undefined };
}

