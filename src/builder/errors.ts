import { KilnError, type KilnErrorOptions } from '../util/errors.js';

export type BuildErrorCode =
  | 'KILN_BUILD_STEP_FAILED'
  | 'KILN_BUILD_NO_ARTIFACT'
  | 'KILN_BUILD_ARTIFACT_CONFLICT'
  | 'KILN_BUILD_BAD_ROOTFS'
  | 'KILN_BUILD_BAD_USER'
  | 'KILN_BUILD_ABORTED';

export interface BuildErrorOptions extends KilnErrorOptions {
  step?: string;
  /** The last lines of a failed step's log. */
  logTail?: string[];
}

/** A build that ran and failed is a verdict (exit 1); a recipe the build cannot use is bad input (exit 2). */
export class BuildError extends KilnError {
  override readonly exitCode: 1 | 2;
  readonly step?: string;
  readonly logTail?: string[];
  constructor(readonly code: BuildErrorCode, message: string, options: BuildErrorOptions = {}) {
    super(message, options);
    this.step = options.step;
    this.logTail = options.logTail;
    this.exitCode = code === 'KILN_BUILD_STEP_FAILED' || code === 'KILN_BUILD_NO_ARTIFACT' || code === 'KILN_BUILD_ABORTED' ? 1 : 2;
  }
}
