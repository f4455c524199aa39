import { KilnError, type KilnErrorOptions } from '../util/errors.js';

/**
 * Codes of the attest family. All are bad input (exit 2): a signature that does not verify is
 * not an error but a result (`verifyEnvelopeSignatures` returns which keys matched).
 * - KILN_ATTEST_BAD_ENVELOPE: not a DSSE envelope (JSON, fields, base64, no signature).
 * - KILN_ATTEST_BAD_STATEMENT: the payload is not an in-toto Statement v1 (JSON, fields, digests).
 * - KILN_ATTEST_STATEMENT_VERSION: a `_type` other than in-toto Statement v1 or v0.1.
 * - KILN_ATTEST_BAD_KEY: a PEM that is not a usable key, or a private key where a public one belongs.
 * - KILN_ATTEST_UNSUPPORTED_KEY: a valid key of another algorithm (RSA, P-384, ...).
 * - KILN_ATTEST_KEY_FILE: a key file that cannot be read or written.
 * - KILN_ATTEST_KEY_EXISTS: keygen would overwrite an existing key file.
 * - KILN_ATTEST_BAD_PROVENANCE: provenance (or the summary it is built from) has the wrong shape.
 * - KILN_ATTEST_BUILD_TYPE: SLSA provenance of another buildType than kiln's recipe/v1.
 * - KILN_ATTEST_RECIPE_MISMATCH: the embedded recipe does not match its digest, or the summary's.
 * - KILN_ATTEST_BAD_BUNDLE: an envelope that cannot go into a Sigstore bundle (not one signature).
 * - KILN_ATTEST_WRITE: writing an attestation file failed.
 */
export type AttestErrorCode =
  | 'KILN_ATTEST_BAD_ENVELOPE'
  | 'KILN_ATTEST_BAD_STATEMENT'
  | 'KILN_ATTEST_STATEMENT_VERSION'
  | 'KILN_ATTEST_BAD_KEY'
  | 'KILN_ATTEST_UNSUPPORTED_KEY'
  | 'KILN_ATTEST_KEY_FILE'
  | 'KILN_ATTEST_KEY_EXISTS'
  | 'KILN_ATTEST_BAD_PROVENANCE'
  | 'KILN_ATTEST_BUILD_TYPE'
  | 'KILN_ATTEST_RECIPE_MISMATCH'
  | 'KILN_ATTEST_BAD_BUNDLE'
  /** A SLSA VSA v1 statement whose predicate lacks a required field or has one of the wrong type. */
  | 'KILN_ATTEST_BAD_VSA'
  | 'KILN_ATTEST_WRITE';

export class AttestError extends KilnError {
  readonly code: AttestErrorCode;

  constructor(code: AttestErrorCode, message: string, options: KilnErrorOptions = {}) {
    super(message, options);
    this.code = code;
  }
}
