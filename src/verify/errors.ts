import { KilnError, type KilnErrorOptions } from '../util/errors.js';

/**
 * Bad input to `kiln verify` / `kiln inspect` (exit 2). A negative verdict is never one of
 * these: it is a VerifyReport with `passed: false` (exit 1, decided by the CLI).
 */
export type VerifyErrorCode =
  /** `kiln verify` was given no artifact to check. */
  | 'KILN_VERIFY_NO_ARTIFACT'
  /** An artifact, attestation, policy, key or trusted root file cannot be read. */
  | 'KILN_VERIFY_UNREADABLE'
  /** A policy or attestation file larger than its size budget (docs/security.md, "Budgets"). */
  | 'KILN_VERIFY_TOO_LARGE'
  /** The attestation file is neither a DSSE envelope, a .intoto.jsonl, nor a Sigstore bundle. */
  | 'KILN_VERIFY_BAD_ATTESTATION'
  /** The policy file is not valid YAML or does not match schemas/policy.schema.json. */
  | 'KILN_VERIFY_BAD_POLICY'
  /** A policy rule's CEL expression does not compile. */
  | 'KILN_VERIFY_BAD_EXPRESSION'
  /** The Sigstore trusted root (trusted_root.json) cannot be used. */
  | 'KILN_VERIFY_BAD_TRUSTED_ROOT'
  /** Nothing to trust: a DSSE envelope without --key, a keyless bundle without --trusted-root. */
  | 'KILN_VERIFY_NO_TRUST'
  /** A keyless bundle without an expected identity and issuer (cosign refuses it too). */
  | 'KILN_VERIFY_IDENTITY_REQUIRED'
  /** A --certificate-identity-regexp that is not a valid regular expression. */
  | 'KILN_VERIFY_BAD_REGEXP';

export class VerifyError extends KilnError {
  constructor(readonly code: VerifyErrorCode, message: string, options: KilnErrorOptions = {}) {
    super(message, options);
  }
}
