import { KilnError, type KilnErrorOptions } from '../util/errors.js';

/**
 * - KILN_IMAGE_BAD_PACKAGE: a package name or architecture apt could read as an option.
 * - KILN_IMAGE_APT: apt could not resolve or download the packages (index missing, version gone).
 * - KILN_IMAGE_INCOMPLETE: the resolved set lacks what assembly needs (dpkg, a shell).
 * - KILN_IMAGE_NO_EXCEPTION: the sandbox profile grants no exception for the assembly step.
 */
export type ImageErrorCode = 'KILN_IMAGE_BAD_PACKAGE' | 'KILN_IMAGE_APT' | 'KILN_IMAGE_INCOMPLETE' | 'KILN_IMAGE_NO_EXCEPTION';

/** Everything wrong with assembling a `debian` image before any step runs; bad input: exit 2. */
export class ImageError extends KilnError {
  constructor(readonly code: ImageErrorCode, message: string, options: KilnErrorOptions = {}) {
    super(message, options);
  }
}
