import type { Readable } from 'node:stream';
import type { Digest } from '../util/digest.js';
import type { TreeManifest } from '../store/tree.js';
import type { TarMirror } from './mirror.js';

export interface IngestedTree {
  manifest: TreeManifest;
  digest: Digest;
}

export interface IngestOptions {
  /** Used in error messages: the input or step the archive belongs to. */
  label: string;
  /** Drop this leading path component (e.g. `out` for a container's /kiln/out archive). */
  strip?: string;
  /**
   * `contained`: symlink and hard-link targets must resolve inside the tree (inputs).
   * `any`: symlinks are data, stored as written, never followed (outputs, root filesystems,
   * whose absolute links resolve inside the container). Hard links must always resolve to an
   * earlier entry of the same archive.
   */
  links: 'contained' | 'any';
  /** A normalized copy of the entries, written as they are read (see `TarMirror`). */
  mirror?: TarMirror;
}

/** How a streaming archive reader (tar, ar) names its input and reports bytes that are not its format. */
export interface ArchiveReaderOptions {
  /** Named in errors: the input, step or side the archive belongs to. */
  label: string;
  /** Builds the error for bytes that are not a valid archive; default an ArchiveError KILN_ARCHIVE_CORRUPT. */
  corrupt?: (message: string) => Error;
}

/** Archive formats `unpack: true` understands. */
export type ArchiveFormat = 'tar' | 'tar.gz' | 'tar.xz' | 'tar.bz2' | 'zip' | 'deb';

/** One piece of the tar stream that goes into a container at `/`. */
export interface PackLayer {
  /** Where the piece lands inside the tar, e.g. `kiln/inputs/src`; '' for the root. */
  prefix: string;
  source:
    | { kind: 'tree'; manifest: TreeManifest }
    | { kind: 'file'; digest: Digest; size: number; executable: boolean }
    | { kind: 'dir'; mode: number };
  uid: number;
  gid: number;
  /** Files 0444/0555 and folders 0555 instead of 0644/0755/0755. */
  readOnly: boolean;
}

export interface PackOptions {
  /** mtime of every entry (SOURCE_DATE_EPOCH). */
  mtime: number;
}

export interface NormalizeOptions {
  sourceDateEpoch: number;
  /**
   * Decompressed bytes allowed per archive (default DEFAULT_MAX_DECOMPRESSED_BYTES, 1 GiB; a
   * build passes its sandbox profile's maxDecompressedBytes). Past it normalization stops with
   * KILN_ARCHIVE_TOO_LARGE and leaves nothing behind.
   */
  maxDecompressedBytes?: number;
  /** The step the tree belongs to, for error messages. */
  label?: string;
}

export interface NormalizedTree extends IngestedTree {
  /** Paths of the archives that were rewritten. */
  rewritten: string[];
}

export type PackLayers = (layers: PackLayer[], options: PackOptions) => Readable;
