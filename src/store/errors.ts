import { KilnError } from '../util/errors.js';

/**
 * Codes of the store family:
 * - KILN_STORE_INTEGRITY: bytes being written do not match the expected SRI or digest.
 * - KILN_STORE_CORRUPT: an object on disk no longer matches its address.
 * - KILN_STORE_MISSING: an object that must be there is not.
 * - KILN_STORE_BAD_TREE: a tree manifest breaks the `tree/v1` rules.
 * - KILN_STORE_BAD_INTEGRITY: an SRI string that names no sha256/sha384/sha512 hash.
 * - KILN_STORE_BAD_DIGEST: not a `sha256:<64 hex>` digest.
 * - KILN_STORE_BAD_RECORD: an action record or ref name that is malformed.
 * - KILN_STORE_ABORTED: a write was cancelled through its AbortSignal.
 */
export type StoreErrorCode =
  | 'KILN_STORE_INTEGRITY'
  | 'KILN_STORE_CORRUPT'
  | 'KILN_STORE_MISSING'
  | 'KILN_STORE_BAD_TREE'
  | 'KILN_STORE_BAD_INTEGRITY'
  | 'KILN_STORE_BAD_DIGEST'
  | 'KILN_STORE_BAD_RECORD'
  | 'KILN_STORE_ABORTED';

export class StoreError extends KilnError {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options: ConstructorParameters<typeof KilnError>[1] = {}) {
    super(message, options);
    this.code = code;
  }
}
