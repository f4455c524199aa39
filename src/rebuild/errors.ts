import { KilnError, type KilnErrorOptions } from '../util/errors.js';

/**
 * Refusals before a rebuild runs. A build that differs is a verdict (RebuildResult FAILED),
 * not an error. Most refusals are bad input (exit 2); a provenance that fails verification
 * is a negative verdict on that provenance (exit 1, as `kiln verify` gives it), and the error
 * names the failed check in `check`.
 */
export type RebuildErrorCode =
  /** Not readable, not an attestation, or no kiln SLSA provenance in it (exit 2). */
  | 'KILN_REBUILD_BAD_PROVENANCE'
  /** The provenance fails the `signature` or `certificate-identity` check (exit 1). */
  | 'KILN_REBUILD_UNTRUSTED'
  /** The provenance's subjects are not each a distinct relative path: `subject-names` (exit 1). */
  | 'KILN_REBUILD_BAD_SUBJECTS'
  /** Nothing to verify the provenance with: no --key / --trusted-root, and no --insecure-ignore-signature (exit 2). */
  | 'KILN_REBUILD_NO_TRUST'
  /** --insecure-ignore-signature with --sign-key: kiln signs no verdict about unverified provenance (exit 2). */
  | 'KILN_REBUILD_UNVERIFIED_SIGN'
  | 'KILN_REBUILD_MISSING_INPUT'
  | 'KILN_REBUILD_UNKNOWN_INPUT'
  | 'KILN_REBUILD_DEPENDENCY_MISMATCH';

/** Codes that are a negative verdict on the provenance rather than bad input. */
const VERDICT_CODES: ReadonlySet<RebuildErrorCode> = new Set(['KILN_REBUILD_UNTRUSTED', 'KILN_REBUILD_BAD_SUBJECTS']);

export interface RebuildErrorOptions extends KilnErrorOptions {
  /** The name of the verification check that failed (`signature`, `subject-names`, …). */
  check?: string;
}

export class RebuildError extends KilnError {
  override readonly exitCode: 1 | 2;
  readonly check?: string;

  constructor(readonly code: RebuildErrorCode, message: string, options: RebuildErrorOptions = {}) {
    super(message, options);
    this.exitCode = VERDICT_CODES.has(code) ? 1 : 2;
    if (options.check !== undefined) this.check = options.check;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), ...(this.check !== undefined && { check: this.check }) };
  }
}
