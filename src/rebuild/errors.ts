import { KilnError, type KilnErrorOptions } from '../util/errors.js';

/** Refusals before a rebuild runs: all bad input (exit 2). A build that differs is a verdict, not an error. */
export type RebuildErrorCode =
  | 'KILN_REBUILD_BAD_PROVENANCE'
  | 'KILN_REBUILD_UNTRUSTED'
  | 'KILN_REBUILD_MISSING_INPUT'
  | 'KILN_REBUILD_UNKNOWN_INPUT'
  | 'KILN_REBUILD_DEPENDENCY_MISMATCH';

export class RebuildError extends KilnError {
  constructor(readonly code: RebuildErrorCode, message: string, options: KilnErrorOptions = {}) {
    super(message, options);
  }
}
