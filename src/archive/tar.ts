import { ArchiveError } from './errors.js';
import type { ArchiveReaderOptions } from './types.js';
import { boundedReader, type Reader } from './reader.js';
import { cStringOf, parsePax, parseTarHeader, tarChecksumValid, TAR_BLOCK, type TarHeaderBlock } from './tar-header.js';

/** One metadata record (a pax header, a GNU long name or link): a sane one fits in this. */
export const MAX_TAR_RECORD_BYTES = 1 << 20;
/** The metadata records that lead up to one entry, together. */
export const MAX_TAR_ENTRY_METADATA_BYTES = 1 << 20;
/** The global pax records in force at once (keys and values): a tool writes a comment or two. */
export const MAX_TAR_GLOBAL_BYTES = 64 * 1024;

/** Entry types by typeflag ('0'…'7'); `unknown` for the rest (GNU sparse `S`, dumpdir `D`, vendor letters). */
export type TarEntryType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo' | 'contiguous-file' | 'unknown';

/**
 * One entry of a tar with its metadata resolved once: pax records (local over global) over
 * GNU long names over the ustar prefix and header fields.
 */
export interface TarEntry {
  /** As written: not checked, not normalized (a consumer decides what a hostile name means). */
  name: string;
  type: TarEntryType;
  /** The typeflag byte as written ('0', '5', 'S'…). */
  typeflag: string;
  /** The header's mode field, every bit as written. */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch; fractional when a pax record says so. */
  mtime: number;
  /** Only pax records carry these. */
  atime?: number;
  ctime?: number;
  /** Bytes of data that follow the header (0 for a folder: GNU tar never reads a folder's data). */
  size: number;
  /** Symlink or hard-link target; '' for other entries. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** This entry's own pax records (an empty value unsets a global one). */
  pax: ReadonlyMap<string, string>;
  /** The global pax records in force (shared by the entries that follow a global header). */
  globalPax: ReadonlyMap<string, string>;
  /** Offset of the entry's first data byte from the start of the tar: random access reads it there again. */
  offset: number;
  /** The entry's data, streamed from the archive: read it (or not) before asking for the next entry. */
  body: Reader;
}

export interface TarReader {
  /** The next entry, once what is left of the current one's data is skipped; undefined at the end of the archive. */
  next(): Promise<TarEntry | undefined>;
}

export type TarReaderOptions = ArchiveReaderOptions;

const ZERO_BLOCK = Buffer.alloc(TAR_BLOCK);
/** Typeflags of headers that describe the next entry rather than one of their own. */
const METADATA_TYPEFLAGS = new Set(['x', 'g', 'L', 'K']);
/** The pax records of an entry that has none (shared, never written to). */
const NO_RECORDS: Map<string, string> = new Map();

/**
 * The one tar reader of kiln (ingest, normalization, kiln diff): ustar with its prefix, GNU
 * long names and links, pax local and global records (each record, the records of one entry
 * and the global ones in force have a budget), and pre-POSIX v7 headers, whose checksum is
 * checked like any other. Headers are parsed once, here; data is never buffered: each entry's
 * body is a bounded reader over `raw`. The archive ends at its first zero block, as GNU tar
 * reads it; what follows is left in `raw` for the caller. An archive that simply stops
 * between entries is tolerated (GNU tar warns); one cut inside a header or a member is not.
 */
export function readTar(raw: Reader, options: TarReaderOptions): TarReader {
  return new TarStream(raw, options);
}

/** What the metadata headers before an entry said of it. */
interface LeadingRecords {
  pax: Map<string, string>;
  longName?: string;
  longLink?: string;
  /** Bytes of those records, against MAX_TAR_ENTRY_METADATA_BYTES. */
  bytes: number;
}

/** The reader's state between entries: where the next header is, the global records in force. */
class TarStream implements TarReader {
  /** Offset of the next header block. */
  private position = 0;
  private ended = false;
  private skipCurrent: (() => Promise<void>) | undefined;
  private globalPax: ReadonlyMap<string, string> = new Map();
  private readonly invalid: (what: string) => Error;

  constructor(
    private readonly raw: Reader,
    options: TarReaderOptions,
  ) {
    const { label } = options;
    const corrupt = options.corrupt ?? ((message: string) => new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: ${message}`, { label }));
    this.invalid = (what) => corrupt(`not a valid tar: ${what}`);
  }

  async next(): Promise<TarEntry | undefined> {
    if (this.skipCurrent !== undefined) {
      const skip = this.skipCurrent;
      this.skipCurrent = undefined;
      await skip();
    }
    if (this.ended) return undefined;
    const leading: LeadingRecords = { pax: NO_RECORDS, bytes: 0 };
    for (;;) {
      const header = this.header(await this.raw.read(TAR_BLOCK), leading.bytes > 0);
      if (header === undefined) return undefined;
      if (!METADATA_TYPEFLAGS.has(header.typeflag)) return this.entry(header, leading);
      await this.readMetadata(header, leading);
    }
  }

  /** The header in `block`, parsed; undefined at the end of the archive. */
  private header(block: Buffer, afterMetadata: boolean): TarHeaderBlock | undefined {
    const at = this.position;
    if (block.length === 0 && !afterMetadata) this.ended = true;
    else if (block.length === 0) throw this.invalid('the archive ends after a metadata record');
    else if (block.length < TAR_BLOCK) throw this.invalid('truncated header');
    else if (block.equals(ZERO_BLOCK)) this.ended = true;
    if (this.ended) return undefined;
    if (!tarChecksumValid(block)) throw this.invalid(`bad header checksum at offset ${at}`);
    const header = parseTarHeader(block);
    if (!Number.isSafeInteger(header.size) || header.size < 0) throw this.invalid(`bad size field at offset ${at}`);
    this.position += TAR_BLOCK;
    return header;
  }

  /** Reads a metadata header's record into `leading`, or into the global records. */
  private async readMetadata(header: TarHeaderBlock, leading: LeadingRecords): Promise<void> {
    const budgetLeft = MAX_TAR_ENTRY_METADATA_BYTES - leading.bytes;
    switch (header.typeflag) {
      case 'x':
        if (leading.pax === NO_RECORDS) leading.pax = new Map();
        for (const [key, value] of parsePax(await this.record(header, budgetLeft))) leading.pax.set(key, value);
        break;
      case 'L':
        leading.longName = cStringOf(await this.record(header, budgetLeft));
        break;
      case 'K':
        leading.longLink = cStringOf(await this.record(header, budgetLeft));
        break;
      case 'g':
        this.globalPax = mergeGlobal(this.globalPax, parsePax(await this.record(header, MAX_TAR_RECORD_BYTES)), this.invalid);
        return;
    }
    leading.bytes += header.size;
  }

  /** A metadata record's body, within its budget, padding skipped. */
  private async record(header: TarHeaderBlock, budgetLeft: number): Promise<Buffer> {
    const { size } = header;
    if (size > MAX_TAR_RECORD_BYTES || size > budgetLeft) {
      throw this.invalid(
        `a metadata record of ${size} bytes at offset ${this.position - TAR_BLOCK}, past the budget (${MAX_TAR_RECORD_BYTES} bytes a record, ${MAX_TAR_ENTRY_METADATA_BYTES} for the records of one entry)`,
      );
    }
    const data = await this.raw.read(size);
    if (data.length < size) throw this.invalid('truncated metadata record');
    await this.skipExactly(padding(size), 'truncated metadata record');
    this.position += size + padding(size);
    return data;
  }

  /** The entry an entry header opens; its body is the next `size` bytes of the archive. */
  private entry(header: TarHeaderBlock, leading: LeadingRecords): TarEntry {
    const entry = toEntry(header, leading, this.globalPax, this.position, this.invalid, (name, size) => {
      const member = boundedReader(this.raw, size, (missing) => this.invalid(`member ${JSON.stringify(name)} is truncated (${missing} of ${size} bytes missing)`));
      this.skipCurrent = () => this.skipExactly(member.left() + padding(size), `member ${JSON.stringify(name)} is truncated`);
      return member.reader;
    });
    this.position += entry.size + padding(entry.size);
    return entry;
  }

  private async skipExactly(n: number, what: string): Promise<void> {
    if ((await this.raw.skip(n)) < n) throw this.invalid(what);
  }
}

/** The entry one header describes once the records before it apply; `body` opens its data. */
function toEntry(
  header: TarHeaderBlock,
  leading: LeadingRecords,
  globalPax: ReadonlyMap<string, string>,
  offset: number,
  invalid: (what: string) => Error,
  body: (name: string, size: number) => Reader,
): TarEntry {
  const { pax, longName, longLink } = leading;
  const record = (key: string): string | undefined => {
    const value = pax.has(key) ? pax.get(key) : globalPax.get(key);
    return value === '' ? undefined : value;
  };
  const numeric = (key: string, fallback: number): number => {
    const value = Number(record(key) ?? Number.NaN);
    return Number.isFinite(value) ? value : fallback;
  };
  const name = record('path') ?? longName ?? (header.prefix !== '' ? `${header.prefix}/${header.name}` : header.name);
  let type = entryType(header.typeflag);
  // Old tars mark a folder by a trailing slash on a regular-file entry (GNU tar reads them so).
  if ((header.typeflag === '0' || header.typeflag === '\0') && name.endsWith('/')) type = 'directory';
  const paxSize = record('size');
  if (paxSize !== undefined && !/^\d+$/.test(paxSize)) throw invalid(`bad pax size ${JSON.stringify(paxSize)}`);
  const size = type === 'directory' ? 0 : paxSize !== undefined ? Number(paxSize) : header.size;
  if (!Number.isSafeInteger(size)) throw invalid(`bad pax size ${JSON.stringify(paxSize)}`);
  const atime = numeric('atime', Number.NaN);
  const ctime = numeric('ctime', Number.NaN);
  return {
    name,
    type,
    typeflag: header.typeflag,
    mode: header.mode,
    uid: numeric('uid', header.uid),
    gid: numeric('gid', header.gid),
    uname: record('uname') ?? header.uname,
    gname: record('gname') ?? header.gname,
    mtime: numeric('mtime', header.mtime),
    ...(!Number.isNaN(atime) && { atime }),
    ...(!Number.isNaN(ctime) && { ctime }),
    size,
    linkname: record('linkpath') ?? longLink ?? header.linkname,
    devmajor: header.devmajor,
    devminor: header.devminor,
    pax,
    globalPax,
    offset,
    body: body(name, size),
  };
}

/** The global records in force after one more global header (a new map: entries keep theirs). */
function mergeGlobal(current: ReadonlyMap<string, string>, records: Map<string, string>, invalid: (what: string) => Error): ReadonlyMap<string, string> {
  const merged = new Map(current);
  for (const [key, value] of records) {
    if (value === '') merged.delete(key);
    else merged.set(key, value);
  }
  let bytes = 0;
  for (const [key, value] of merged) bytes += key.length + value.length;
  if (bytes > MAX_TAR_GLOBAL_BYTES) throw invalid(`global pax records of ${bytes} bytes (at most ${MAX_TAR_GLOBAL_BYTES} in force at once)`);
  return merged;
}

function entryType(typeflag: string): TarEntryType {
  switch (typeflag) {
    case '0':
    case '\0':
      return 'file';
    case '1':
      return 'link';
    case '2':
      return 'symlink';
    case '3':
      return 'character-device';
    case '4':
      return 'block-device';
    case '5':
      return 'directory';
    case '6':
      return 'fifo';
    case '7':
      return 'contiguous-file';
    default:
      return 'unknown';
  }
}

function padding(size: number): number {
  return (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;
}
