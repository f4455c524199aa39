import { KilnError, type KilnErrorOptions } from '../util/errors.js';

/**
 * Codes of the diff family (a difference is never an error: it is the result):
 * - KILN_DIFF_NOT_FOUND: a compared path does not exist.
 * - KILN_DIFF_UNREADABLE: a compared path exists but cannot be read (permissions, IO error).
 * - KILN_DIFF_CORRUPT: bytes are not well-formed in the format their magic announces; inside
 *   a comparison this becomes an `unreadable` difference, not a failure of the command.
 */
export type DiffErrorCode = 'KILN_DIFF_NOT_FOUND' | 'KILN_DIFF_UNREADABLE' | 'KILN_DIFF_CORRUPT';

export class DiffError extends KilnError {
  readonly code: DiffErrorCode;

  constructor(code: DiffErrorCode, message: string, options: KilnErrorOptions = {}) {
    super(message, options);
    this.code = code;
  }
}
