import type { Reader } from '../archive/reader.js';
import type { EntryType } from './types.js';

/** An entry's metadata as compared; a field a format lacks is undefined. */
export interface EntryMeta {
  type: EntryType;
  /** Permission bits (mode & 0o7777). */
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Seconds since the epoch, fractional where the format keeps sub-seconds. */
  mtime?: number;
  atime?: number;
  ctime?: number;
  /** Symlink or hard link target. */
  linkTarget?: string;
  /** Other fields of the format, compared as `metadata` differences (pax records, zip comment…). */
  extra?: Record<string, string>;
}

/**
 * A content to compare. Re-readable sources (files, zip members, spilled members) can be
 * opened more than once: a cheap equality pass first, a structural one only when they differ.
 * A one-shot source (a member of a streamed tar) opens once.
 */
export interface Source {
  size?: number;
  reopenable: boolean;
  open(): Reader;
  /** Where the bytes lie in a file: random access for zip. */
  file?: { path: string; offset: number; size: number };
  /** sha256 hex, when already known (spilled members): equal digests need no reading. */
  digest?: string;
  /** Not kept: indexing it would have taken more temp space than the diff's budget had left. */
  tooLarge?: true;
}

export interface ContainerEntry {
  name: string;
  meta: EntryMeta;
  /** Regular files only. */
  content?: Source;
}

/**
 * Entries read in archive order. An entry's content must be read (or left) before `next()`:
 * `next()` skips what is left of it.
 */
export interface EntryStream {
  next(): Promise<ContainerEntry | undefined>;
}
