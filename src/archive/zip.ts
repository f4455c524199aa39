import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import type { RangeSource } from './range.js';

const S_IFMT = 0o170000;
/** `version made by` high byte 3: the external attributes hold a Unix st_mode in their high 16 bits (APPNOTE §4.4.2). */
const MADE_BY_UNIX = 3;
/** A symlink's target is its entry's data; a longer one is not a link anyone means. */
export const MAX_ZIP_LINK_TARGET = 4096;
/** Extra fields read into an entry's fields: Info-ZIP extended timestamp "UT", Unix uid/gid "ux", old Unix "UX"; zip64 is yauzl's. */
const EXTRA_UT = 0x5455;
const EXTRA_UX_NEW = 0x7875;
const EXTRA_UX_OLD = 0x5855;
const EXTRA_ZIP64 = 0x0001;

export type ZipEntryType = 'file' | 'directory' | 'symlink' | 'fifo' | 'character-device' | 'block-device' | 'socket' | 'other';

/** One entry of a zip's central directory, its metadata read once. */
export interface ZipEntry {
  /** As stored (CP437, or UTF-8 by the entry's flag or Info-ZIP's unicode path field), `\` as `/`; not checked: a hostile name is data. */
  name: string;
  type: ZipEntryType;
  /** Permission bits of the st_mode, when the entry was made on Unix. */
  mode?: number;
  /** Seconds since the epoch: MS-DOS date and time read as UTC (equal fields give equal numbers), or the extended timestamp. */
  mtime: number;
  atime?: number;
  ctime?: number;
  uid?: number;
  gid?: number;
  compressionMethod: number;
  comment: string;
  /** Uncompressed size, as the directory declares it (checked while the data is read). */
  size: number;
  encrypted: boolean;
  /** Stored or deflated, not encrypted: data kiln can decompress. */
  decodable: boolean;
  /** Extra fields other than those read into the fields above, in order. */
  otherExtraFields: Array<{ id: number; data: Buffer }>;
}

export interface ZipArchive {
  /** The archive comment (latin1), or ''. */
  comment: string;
  /** The central directory's entries in its order, each read when asked for. */
  entries(): AsyncGenerator<ZipEntry>;
  /** The entry's data, decompressed; as stored when `raw` (data kiln cannot decode is compared as it is). */
  openEntry(entry: ZipEntry, options?: { raw?: boolean }): Promise<Readable>;
  /** A symlink's target (its data, as stored when not decodable); undefined when over MAX_ZIP_LINK_TARGET bytes. */
  readLinkTarget(entry: ZipEntry): Promise<string | undefined>;
  /** Releases the reader (not the source: its owner closes it). */
  close(): void;
}

/**
 * The one zip reader of kiln (unpack and kiln diff): the central directory read from a range
 * source (random access is required: it lies at the end), entries one at a time, their data
 * opened on demand any number of times. Sizes are checked against the data as it is read.
 * Failures are yauzl's plain errors: each consumer says them in its own family.
 */
export async function openZip(source: RangeSource): Promise<ZipArchive> {
  // decodeStrings off: yauzl's own name checks would raise bare errors; the consumers decide.
  const zip = await yauzl.fromRandomAccessReaderPromise(new RangeSourceReader(source), source.size, {
    lazyEntries: true,
    decodeStrings: false,
    validateEntrySizes: true,
    autoClose: false,
  });
  const raw = new WeakMap<ZipEntry, yauzl.Entry>();
  const openEntry = (entry: ZipEntry, options: { raw?: boolean } = {}) => zip.openReadStreamPromise(raw.get(entry)!, { decodeFileData: !options.raw });
  return {
    comment: (zip.comment as unknown as Buffer | string).toString(),
    async *entries() {
      for await (const entry of zip.eachEntry()) {
        const read = toZipEntry(entry);
        raw.set(read, entry);
        yield read;
      }
    },
    openEntry,
    async readLinkTarget(entry) {
      if (entry.size > MAX_ZIP_LINK_TARGET) return undefined;
      const chunks: Buffer[] = [];
      for await (const chunk of await openEntry(entry, { raw: !entry.decodable })) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    close: () => zip.close(),
  };
}

function toZipEntry(entry: yauzl.Entry): ZipEntry {
  const extras = yauzl.parseExtraFields(entry.extraFieldRaw);
  const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, extras, false);
  const unix = entry.versionMadeBy >> 8 === MADE_BY_UNIX;
  const stMode = unix ? entry.externalFileAttributes >>> 16 : 0;
  const read: ZipEntry = {
    name,
    type: zipEntryType(name, stMode),
    ...(unix && { mode: stMode & 0o7777 }),
    mtime: dosTime(entry.lastModFileDate, entry.lastModFileTime),
    compressionMethod: entry.compressionMethod,
    comment: entry.fileCommentRaw.toString('utf8'),
    size: entry.uncompressedSize,
    encrypted: entry.isEncrypted(),
    decodable: entry.canDecodeFileData(),
    otherExtraFields: [],
  };
  for (const field of extras) {
    if (field.id === EXTRA_UT) readExtendedTimestamp(field.data, read);
    else if (field.id === EXTRA_UX_NEW) readUnixIds(field.data, read);
    else if (field.id === EXTRA_UX_OLD && field.data.length >= 8) {
      read.atime = field.data.readUInt32LE(0);
      read.mtime = field.data.readUInt32LE(4);
    } else if (field.id !== EXTRA_ZIP64) read.otherExtraFields.push(field);
  }
  return read;
}

function zipEntryType(name: string, stMode: number): ZipEntryType {
  if (name.endsWith('/')) return 'directory';
  switch (stMode & S_IFMT) {
    case 0:
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'directory';
    case 0o120000:
      return 'symlink';
    case 0o010000:
      return 'fifo';
    case 0o020000:
      return 'character-device';
    case 0o060000:
      return 'block-device';
    case 0o140000:
      return 'socket';
    default:
      return 'other';
  }
}

/** MS-DOS date and time (2-second resolution, no zone): read as UTC, so equal fields give equal numbers. */
function dosTime(date: number, time: number): number {
  const ms = Date.UTC((date >> 9) + 1980, ((date >> 5) & 0xf) - 1, date & 0x1f, time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2);
  return ms / 1000;
}

function readExtendedTimestamp(data: Buffer, entry: ZipEntry): void {
  if (data.length < 1) return;
  const flags = data[0]!;
  let at = 1;
  for (const [bit, key] of [[1, 'mtime'], [2, 'atime'], [4, 'ctime']] as const) {
    if ((flags & bit) === 0) continue;
    // The central directory's copy holds only the mtime, whatever the flags say.
    if (data.length < at + 4) return;
    entry[key] = data.readInt32LE(at);
    at += 4;
  }
}

/** Info-ZIP "ux": version, then a uid and a gid each with its size; sizes past 6 bytes keep their low 6. */
function readUnixIds(data: Buffer, entry: ZipEntry): void {
  if (data.length < 2) return;
  const uidSize = data[1]!;
  if (uidSize === 0 || data.length < 2 + uidSize + 1) return;
  const uid = data.readUIntLE(2, Math.min(uidSize, 6));
  const gidSize = data[2 + uidSize]!;
  if (gidSize === 0 || data.length < 3 + uidSize + gidSize) return;
  entry.uid = uid;
  entry.gid = data.readUIntLE(3 + uidSize, Math.min(gidSize, 6));
}

/** yauzl's random access over a range source; positional reads where the source has them. */
class RangeSourceReader extends yauzl.RandomAccessReader {
  constructor(private readonly source: RangeSource) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return this.source.stream(start, end);
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    if (this.source.read === undefined) return super.read(buffer, offset, length, position, callback);
    this.source.read(buffer, offset, length, position).then(() => callback(null), callback);
  }
}
