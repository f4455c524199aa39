import { KilnError, type KilnErrorOptions } from '../util/errors.js';

/**
 * Refusals of `kiln check`: all bad input (exit 2). A build that does not reproduce is a
 * verdict in the result, not an error.
 */
export type CheckErrorCode =
  | 'KILN_CHECK_BAD_VARIATIONS'
  | 'KILN_CHECK_UNKNOWN_VARIATION'
  | 'KILN_CHECK_NO_ARTIFACTS';

export class CheckError extends KilnError {
  constructor(readonly code: CheckErrorCode, message: string, options: KilnErrorOptions = {}) {
    super(message, options);
  }
}
