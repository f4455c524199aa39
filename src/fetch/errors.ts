import { formatLocation, KilnError, type KilnErrorOptions } from '../util/errors.js';
import type { InputSpec } from '../recipe/types.js';
import type { SourceAttempt } from './sources.js';

/**
 * Codes of the fetch family; every one names the input and where the recipe declares it.
 * - KILN_FETCH_INTEGRITY: the fetched bytes (or folder) do not match the recipe's SRI.
 * - KILN_FETCH_BAD_INTEGRITY: the recipe's SRI is unusable (no sha256/384/512 hash).
 * - KILN_FETCH_HTTP: a status other than 200, a bad redirect, too many redirects.
 * - KILN_FETCH_NETWORK: connection refused, reset, timed out.
 * - KILN_FETCH_NOT_FOUND: a `path` input that does not exist.
 * - KILN_FETCH_APT: `apt-get download` / `apt-get source` failed or produced no package
 *   (for a source package, also: apt has no deb-src sources; the hint names the lines to add).
 * - KILN_FETCH_NPM: the npm client failed to resolve or download the package.
 * - KILN_FETCH_GIT: git could not reach the repository, or it has no such ref or commit.
 * - KILN_FETCH_DSC: a .dsc that cannot be read as one (no Checksums-Sha256, another package,
 *   an unsafe file name, a source format kiln does not unpack).
 * - KILN_FETCH_UNSUPPORTED: a URL scheme other than http(s), a path that is neither a file nor
 *   a folder, `unpack` on a folder, a malformed package name.
 * - KILN_FETCH_ARCHIVE: reading the folder or unpacking the archive failed (cause: the ArchiveError).
 * - KILN_FETCH_TOO_LARGE: a download passed its size budget (a .dsc past maxDscBytes).
 * - KILN_FETCH_LOCAL_SOURCE: a `file:` URL where local sources are refused (a rebuild, whose
 *   local inputs come only through `--input`).
 * - KILN_FETCH_IO: a local read or store write failed.
 * - KILN_FETCH_ABORTED: cancelled through the AbortSignal.
 *
 * When no source (store, mirrors, upstream, Debian snapshot) yields an input's bytes, the
 * error keeps the upstream's code (APT, HTTP, NPM…: what went wrong where the recipe points)
 * and `sources` lists every source tried and why each failed.
 */
export type FetchErrorCode =
  | 'KILN_FETCH_INTEGRITY'
  | 'KILN_FETCH_BAD_INTEGRITY'
  | 'KILN_FETCH_HTTP'
  | 'KILN_FETCH_NETWORK'
  | 'KILN_FETCH_NOT_FOUND'
  | 'KILN_FETCH_APT'
  | 'KILN_FETCH_NPM'
  | 'KILN_FETCH_GIT'
  | 'KILN_FETCH_DSC'
  | 'KILN_FETCH_UNSUPPORTED'
  | 'KILN_FETCH_ARCHIVE'
  | 'KILN_FETCH_TOO_LARGE'
  | 'KILN_FETCH_LOCAL_SOURCE'
  | 'KILN_FETCH_IO'
  | 'KILN_FETCH_ABORTED';

export class FetchError extends KilnError {
  readonly code: FetchErrorCode;
  /** The input's name in the recipe. */
  readonly input: string;
  /** Every source tried, in order, when none yielded the pinned bytes. */
  readonly sources?: SourceAttempt[];

  constructor(code: FetchErrorCode, input: string, message: string, options: FetchErrorOptions = {}) {
    super(message, options);
    this.code = code;
    this.input = input;
    if (options.sources) this.sources = options.sources;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), input: this.input, ...(this.sources && { sources: this.sources }) };
  }
}

export interface FetchErrorOptions extends KilnErrorOptions {
  sources?: SourceAttempt[];
}

/** `input "x" (kiln.yaml:7:3): `: how every input error starts. */
export function inputPrefix(spec: Pick<InputSpec, 'name' | 'where'>): string {
  return `input ${JSON.stringify(spec.name)} (${formatLocation(spec.where)}): `;
}

/** An error about `spec`: the message starts with the input's name and its place in the recipe. */
export function inputError(spec: InputSpec, code: FetchErrorCode, reason: string, options: FetchErrorOptions = {}): FetchError {
  return new FetchError(code, spec.name, `${inputPrefix(spec)}${reason}`, {
    where: spec.where,
    ...options,
  });
}
