import { KilnError, type KilnErrorOptions } from '../util/errors.js';

/**
 * - KILN_LOCK_MISSING: `--locked` and no kiln.lock beside the recipe.
 * - KILN_LOCK_STALE: the recipe's inputs or images changed since kiln.lock was written.
 * - KILN_LOCK_INVALID: kiln.lock is not a lock this kiln reads (bad JSON, unknown format).
 * - KILN_LOCK_UNKNOWN_INPUT: `kiln lock --update <name>` names no input of the recipe.
 * - KILN_LOCK_IO: reading or writing kiln.lock failed.
 * - KILN_LOCK_TOO_LARGE: kiln.lock is larger than its size budget (maxLockBytes, docs/security.md).
 */
export type LockErrorCode = 'KILN_LOCK_MISSING' | 'KILN_LOCK_STALE' | 'KILN_LOCK_INVALID' | 'KILN_LOCK_UNKNOWN_INPUT' | 'KILN_LOCK_IO' | 'KILN_LOCK_TOO_LARGE';

/** Everything wrong with kiln.lock; bad input: exit 2. */
export class LockError extends KilnError {
  constructor(readonly code: LockErrorCode, message: string, options: KilnErrorOptions = {}) {
    super(message, options);
  }
}
