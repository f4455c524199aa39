import { KilnError, type KilnErrorOptions } from '../util/errors.js';

export type SandboxErrorCode =
  /** sandbox/profile.json is missing, malformed, or weakens a mandatory setting. */
  | 'KILN_SANDBOX_BAD_PROFILE'
  /** `--engine` / KILN_ENGINE names no backend kiln has. */
  | 'KILN_SANDBOX_BAD_ENGINE'
  /** The engine did not answer (socket absent, connection refused, DOCKER_HOST wrong). */
  | 'KILN_SANDBOX_ENGINE_UNAVAILABLE'
  /** The engine answered but refused or failed a request (create, start, archive...). */
  | 'KILN_SANDBOX_ENGINE_ERROR'
  /** An OCI image reference is not `name@sha256:<hex>`. */
  | 'KILN_SANDBOX_BAD_IMAGE_REF'
  /** Importing a rootfs tarball as an image failed. */
  | 'KILN_SANDBOX_IMAGE_IMPORT'
  /** Pulling an image by digest failed. */
  | 'KILN_SANDBOX_IMAGE_PULL'
  /** The local image does not carry the digest it was asked for. */
  | 'KILN_SANDBOX_IMAGE_DIGEST'
  /** /kiln/out as read back is larger than the profile's `limits.outputBytes`. */
  | 'KILN_SANDBOX_OUTPUT_TOO_LARGE'
  /** The engine cannot run an action as asked (a farm: another user, a CPU set, in-memory folders…); the message names what. */
  | 'KILN_SANDBOX_UNSUPPORTED';

export interface SandboxErrorOptions extends KilnErrorOptions {
  /** The step whose run failed, when there is one. */
  step?: string;
}

/** Everything that goes wrong between kiln and the build engine. */
export class SandboxError extends KilnError {
  readonly step?: string;
  constructor(readonly code: SandboxErrorCode, message: string, options: SandboxErrorOptions = {}) {
    super(message, options);
    this.step = options.step;
  }
}
