import { KilnError, type KilnErrorOptions } from '../util/errors.js';

/**
 * Codes of the shared-cache family: why an entry of a remote action cache was refused (the step
 * then runs as if the entry were absent), or why the cache could not be set up.
 * - KILN_CACHE_UNSIGNED: the entry carries no signature, and the user does not trust the server.
 * - KILN_CACHE_UNTRUSTED: the entry is signed, but by no key the reader trusts (`--cache-trust`).
 * - KILN_CACHE_MISMATCH: the signed statement names another action key, output tree or log than
 *   the entry holds (a signature copied from another entry, or tree bytes that changed).
 * - KILN_CACHE_BAD_ENTRY: the entry breaks kiln's shape (no output folder, an unreadable
 *   envelope, a non-zero exit code) or goes over a budget.
 * - KILN_CACHE_BAD_OPTIONS: the shared-cache options cannot be used (a key material that does
 *   not hash to its key, a header that is not NAME=VALUE, an unreadable file).
 */
export type RemoteCacheErrorCode =
  | 'KILN_CACHE_UNSIGNED'
  | 'KILN_CACHE_UNTRUSTED'
  | 'KILN_CACHE_MISMATCH'
  | 'KILN_CACHE_BAD_ENTRY'
  | 'KILN_CACHE_BAD_OPTIONS';

export class RemoteCacheError extends KilnError {
  readonly code: RemoteCacheErrorCode;

  constructor(code: RemoteCacheErrorCode, message: string, options: KilnErrorOptions = {}) {
    super(message, options);
    this.code = code;
  }
}
