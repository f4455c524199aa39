/**
 * The difference model of `kiln diff`: pure data, no IO. A difference sits at a nesting path
 * (`['pkg.zip', 'inner.tar.gz', 'dir/file.txt']`: one element per container level, the
 * member's name as the container writes it; compression layers add no element), has a
 * `kind` with kind-specific `detail`, and one `class` from `classify` so that a person sees
 * the likely cause at a glance.
 */

/** What a difference most likely stems from (the list, plus presence: added/removed). */
export type DiffClass = 'content' | 'timestamp' | 'ordering' | 'permissions' | 'ownership' | 'size' | 'presence';

export const DIFF_CLASSES: readonly DiffClass[] = ['content', 'timestamp', 'ordering', 'permissions', 'ownership', 'size', 'presence'];

export type EntryType =
  | 'file'
  | 'directory'
  | 'symlink'
  | 'hardlink'
  | 'character-device'
  | 'block-device'
  | 'fifo'
  | 'socket'
  | 'other';

/** One hunk of a unified diff (context 3); `lines` start with ' ', '-', '+' or '\\'. */
export interface TextHunk {
  aStart: number;
  aLines: number;
  bStart: number;
  bLines: number;
  lines: string[];
}

/** A place where binary contents differ: the offset of the first differing byte and up to 16 bytes of each side from there, in hex. */
export interface BinaryRegion {
  offset: number;
  a: string;
  b: string;
}

/** A metadata value as compared: absent on a side is `null`. */
export type MetaValue = string | number | null;

export type DifferenceDetail =
  /** Present only in b. */
  | { kind: 'added'; detail: { type: EntryType; size?: number } }
  /** Present only in a. */
  | { kind: 'removed'; detail: { type: EntryType; size?: number } }
  /** Both sides are text (UTF-8 without NUL, under the size cap). */
  | { kind: 'text'; detail: { hunks: TextHunk[]; truncated: boolean } }
  /** Bytes differ: the first differing regions; `truncated` when more regions exist. */
  | { kind: 'binary'; detail: { regions: BinaryRegion[]; truncated: boolean; aSize: number; bSize: number } }
  | { kind: 'size'; detail: { a: number; b: number } }
  /** Seconds since the epoch (fractional where the format keeps sub-seconds). */
  | { kind: 'timestamp'; detail: { field: string; a: number | null; b: number | null } }
  /** Permission bits (mode & 0o7777). */
  | { kind: 'permissions'; detail: { a: number | null; b: number | null } }
  | { kind: 'ownership'; detail: { field: 'uid' | 'gid' | 'uname' | 'gname'; a: MetaValue; b: MetaValue } }
  | { kind: 'link-target'; detail: { a: string | null; b: string | null } }
  | { kind: 'type'; detail: { a: EntryType; b: EntryType } }
  /** The two sides are different formats (one gzip, the other plain data…). */
  | { kind: 'format'; detail: { a: string; b: string } }
  /** Entries common to both sides come in another order; `index` is the first differing position. */
  | { kind: 'ordering'; detail: { index: number; a: string[]; b: string[]; moved: number } }
  | { kind: 'gzip-header'; detail: { field: 'mtime' | 'name' | 'comment' | 'os' | 'xfl' | 'flags' | 'extra'; a: MetaValue; b: MetaValue } }
  /** Another header field of the container format (pax record, zip comment, compression method…). */
  | { kind: 'metadata'; detail: { field: string; a: MetaValue; b: MetaValue } }
  /** The raw bytes differ, yet no structural difference explains it (sha256 of each side). */
  | { kind: 'bytes'; detail: { a: string; b: string } }
  /** A side could not be read as the format its magic bytes announce. */
  | { kind: 'unreadable'; detail: { side: 'a' | 'b' | 'both'; message: string } }
  /**
   * Comparing would need more temp space than the diff's budget has left (a member to index
   * out of order, a zip to open from inside another archive): not compared, said so.
   */
  | { kind: 'too-large'; detail: { side: 'a' | 'b' | 'both'; budget: 'maxSpillBytes'; limit: number; size?: number } };

export type DifferenceKind = DifferenceDetail['kind'];

/** A difference before classification, as the comparison finds it. */
export type RawDifference = { path: string[] } & DifferenceDetail;

export type Difference = RawDifference & { class: DiffClass };

export type DiffSummary = Record<DiffClass, number>;

export interface DiffReport {
  identical: boolean;
  /** The compared paths, as given. */
  a: string;
  b: string;
  /** In the order found: depth first, in the order of a's entries. */
  differences: Difference[];
  /** Counts by class, over every difference found (also the omitted ones). */
  summary: DiffSummary;
  /** Differences found past `maxDifferences`: counted, not kept (memory stays flat). */
  omitted: number;
}

export interface DiffOptions {
  /** Differences kept in the report; the rest are only counted (default 10,000). */
  maxDifferences?: number;
  /** Files up to this size are candidates for a text diff (default 1 MiB). */
  textCap?: number;
  /** Output lines of one text diff (default 400). */
  maxTextLines?: number;
  /** Binary regions shown per file (default 8). */
  maxBinaryRegions?: number;
  /** Where spill files go (default the OS temp folder); removed before `diffPaths` returns. */
  tempDir?: string;
  /**
   * Budget of temp space for the whole diff (default DEFAULT_MAX_SPILL_BYTES, 1 GiB): bytes of
   * spill files on disk at any one time. A member that does not fit is reported as `too-large`
   * instead of compared. Members in the same order on both sides are compared as they stream
   * and spill nothing.
   */
  maxSpillBytes?: number;
}
