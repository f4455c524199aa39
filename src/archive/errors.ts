import { KilnError, type KilnErrorOptions } from '../util/errors.js';

/**
 * Codes of the archive family:
 * - KILN_ARCHIVE_UNSAFE_ENTRY: an entry would land outside the tree (absolute path, `..`,
 *   written through a symlink, a link that escapes, a device node in an input).
 * - KILN_ARCHIVE_CONFLICT: two entries disagree about what a path is (a file where a folder
 *   with children stands, a hard link to something that is not an earlier file).
 * - KILN_ARCHIVE_UNSUPPORTED: a format or entry kind kiln does not read (encrypted zip entry,
 *   sparse tar member, unknown archive format).
 * - KILN_ARCHIVE_CORRUPT: the bytes are not a well-formed archive of the format.
 * - KILN_ARCHIVE_TOOL_MISSING: the decompressor a format needs (xz, bzip2, zstd) is absent.
 * - KILN_ARCHIVE_TOO_LARGE: an archive decompresses past its budget (the sandbox profile's
 *   maxDecompressedBytes when outputs are normalized).
 */
export type ArchiveErrorCode =
  | 'KILN_ARCHIVE_UNSAFE_ENTRY'
  | 'KILN_ARCHIVE_CONFLICT'
  | 'KILN_ARCHIVE_UNSUPPORTED'
  | 'KILN_ARCHIVE_CORRUPT'
  | 'KILN_ARCHIVE_TOOL_MISSING'
  | 'KILN_ARCHIVE_TOO_LARGE';

export interface ArchiveErrorOptions extends KilnErrorOptions {
  /** The input or step the archive belongs to. */
  label?: string;
  /** The archive entry at fault, as written in the archive. */
  entry?: string;
}

export class ArchiveError extends KilnError {
  readonly code: ArchiveErrorCode;
  readonly label?: string;
  readonly entry?: string;

  constructor(code: ArchiveErrorCode, message: string, options: ArchiveErrorOptions = {}) {
    super(message, options);
    this.code = code;
    this.label = options.label;
    this.entry = options.entry;
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      ...(this.label !== undefined && { label: this.label }),
      ...(this.entry !== undefined && { entry: this.entry }),
    };
  }
}

/** An error about one entry: the message names the label and the entry. */
export function entryError(code: ArchiveErrorCode, label: string, entry: string, reason: string, options: KilnErrorOptions = {}): ArchiveError {
  return new ArchiveError(code, `${label}: archive entry ${JSON.stringify(entry)} ${reason}`, { ...options, label, entry });
}

/** Wraps a low-level failure (zlib, tar parser, child process) as CORRUPT; keeps KilnErrors as they are. */
export function asArchiveError(err: unknown, label: string, what: string): KilnError {
  if (err instanceof KilnError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: ${what}: ${message}`, { label, cause: err });
}
