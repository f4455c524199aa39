import { KilnError, type KilnErrorOptions } from '../util/errors.js';

/**
 * - KILN_VENDOR_INDEX: a vendored folder's index.json is not one kiln reads (bad JSON, unknown
 *   format, a malformed entry, over a budget).
 * - KILN_VENDOR_IO: reading or writing the folder failed.
 */
export type VendorErrorCode = 'KILN_VENDOR_INDEX' | 'KILN_VENDOR_IO';

/** Everything wrong with a vendored folder itself; bad input: exit 2. */
export class VendorError extends KilnError {
  constructor(readonly code: VendorErrorCode, message: string, options: KilnErrorOptions = {}) {
    super(message, options);
  }
}
