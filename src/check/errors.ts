import { KilnError, type KilnErrorOptions } from '../util/errors.js';

/**
 * Refusals of `kiln check`: all bad input (exit 2). A build that does not reproduce is a
 * verdict in the result, not an error.
 */
export type CheckErrorCode =
  | 'KILN_CHECK_BAD_VARIATIONS'
  | 'KILN_CHECK_UNKNOWN_VARIATION'
  | 'KILN_CHECK_NO_ARTIFACTS'
  /** The libfaketime named for injection (option or $KILN_LIBFAKETIME) cannot be read. */
  | 'KILN_CHECK_BAD_LIBFAKETIME';

export class CheckError extends KilnError {
  constructor(readonly code: CheckErrorCode, message: string, options: KilnErrorOptions = {}) {
    super(message, options);
  }
}
