import { createReadStream, read as fsRead } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { DiffError } from './errors.js';
import type { ContainerEntry, EntryMeta } from './entries.js';
import { Reader } from './reader.js';
import type { EntryType } from './types.js';

const S_IFMT = 0o170000;
/** `version made by` high byte 3: the external attributes hold a Unix st_mode (APPNOTE §4.4.2). */
const MADE_BY_UNIX = 3;
const MAX_LINK_TARGET = 4096;
/** Extra fields: Info-ZIP extended timestamp "UT", Unix uid/gid "ux", old Unix "UX", zip64. */
const EXTRA_UT = 0x5455;
const EXTRA_UX_NEW = 0x7875;
const EXTRA_UX_OLD = 0x5855;
const EXTRA_ZIP64 = 0x0001;

export interface ZipListing {
  entries: ContainerEntry[];
  /** The archive comment (latin1), or '' . */
  comment: string;
  close(): Promise<void>;
}

/**
 * Lists a zip (or jar) lying at `file.offset` in a file: every entry's metadata from the
 * central directory (kept in memory: headers only), contents opened on demand, decompressed,
 * any number of times. Names are read raw: hostile names are data to compare, not to refuse.
 */
export async function listZip(file: { path: string; offset: number; size: number }, label: string): Promise<ZipListing> {
  const handle = await open(file.path, 'r');
  let zip: yauzl.ZipFile | undefined;
  try {
    const reader = new FileRangeReader(file.path, handle, file.offset);
    zip = await yauzl.fromRandomAccessReaderPromise(reader, file.size, { lazyEntries: true, decodeStrings: false, autoClose: false, validateEntrySizes: true });
    const z = zip;
    const entries: ContainerEntry[] = [];
    for await (const entry of z.eachEntry()) entries.push(await toEntry(z, entry));
    return {
      entries,
      comment: (z.comment as unknown as Buffer | string).toString(),
      async close() {
        z.close();
        await handle.close();
      },
    };
  } catch (err) {
    zip?.close();
    await handle.close();
    throw new DiffError('KILN_DIFF_CORRUPT', `${label}: not a valid zip: ${(err as Error).message}`, { cause: err });
  }
}

async function toEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<ContainerEntry> {
  const extras = yauzl.parseExtraFields(entry.extraFieldRaw);
  const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, extras, false);
  const unix = entry.versionMadeBy >> 8 === MADE_BY_UNIX;
  const stMode = unix ? entry.externalFileAttributes >>> 16 : 0;
  const type = zipType(name, stMode);
  const meta: EntryMeta = { type, mtime: dosTime(entry.lastModFileDate, entry.lastModFileTime) };
  if (unix) meta.mode = stMode & 0o7777;
  const extra: Record<string, string> = { 'compression method': String(entry.compressionMethod) };
  const comment = entry.fileCommentRaw.toString('utf8');
  if (comment !== '') extra.comment = comment;
  for (const field of extras) {
    if (field.id === EXTRA_UT) readExtendedTimestamp(field.data, meta);
    else if (field.id === EXTRA_UX_NEW) readUnixIds(field.data, meta);
    else if (field.id === EXTRA_UX_OLD && field.data.length >= 8) {
      meta.atime = field.data.readUInt32LE(0);
      meta.mtime = field.data.readUInt32LE(4);
    } else if (field.id !== EXTRA_ZIP64) extra[`extra field 0x${field.id.toString(16).padStart(4, '0')}`] = field.data.toString('hex').slice(0, 256);
  }
  meta.extra = extra;
  // Data zip cannot decode (encrypted, an unknown method) is compared as stored.
  const options = { decodeFileData: entry.canDecodeFileData() };
  const open = () => lazyReader(() => zip.openReadStreamPromise(entry, options));
  if (type === 'symlink') {
    if (entry.uncompressedSize <= MAX_LINK_TARGET) meta.linkTarget = (await open().read(MAX_LINK_TARGET)).toString('utf8');
    return { name, meta };
  }
  if (type !== 'file') return { name, meta };
  return { name, meta, content: { size: entry.uncompressedSize, reopenable: true, open } };
}

function zipType(name: string, stMode: number): EntryType {
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

function readExtendedTimestamp(data: Buffer, meta: EntryMeta): void {
  if (data.length < 1) return;
  const flags = data[0]!;
  let at = 1;
  for (const [bit, key] of [[1, 'mtime'], [2, 'atime'], [4, 'ctime']] as const) {
    if ((flags & bit) === 0) continue;
    // The central directory's copy holds only the mtime, whatever the flags say.
    if (data.length < at + 4) return;
    meta[key] = data.readInt32LE(at);
    at += 4;
  }
}

function readUnixIds(data: Buffer, meta: EntryMeta): void {
  if (data.length < 2) return;
  const uidSize = data[1]!;
  if (data.length < 2 + uidSize + 1) return;
  const uid = data.readUIntLE(2, Math.min(uidSize, 6));
  const gidSize = data[2 + uidSize]!;
  if (data.length < 3 + uidSize + gidSize) return;
  meta.uid = uid;
  meta.gid = data.readUIntLE(3 + uidSize, Math.min(gidSize, 6));
}

/** A reader that opens its stream on the first read. */
export function lazyReader(openStream: () => Promise<Readable>): Reader {
  let it: AsyncIterator<Buffer> | undefined;
  return new Reader(async () => {
    it ??= (await openStream())[Symbol.asyncIterator]();
    const r = await it.next();
    return r.done ? null : r.value;
  });
}

/**
 * yauzl's random access over a byte range of a file: positional reads on one descriptor for
 * the directory; each member stream opens the file anew (destroying a stream closes its
 * descriptor, even one it was lent).
 */
class FileRangeReader extends yauzl.RandomAccessReader {
  constructor(
    private readonly path: string,
    private readonly handle: FileHandle,
    private readonly base: number,
  ) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return createReadStream(this.path, { start: this.base + start, end: this.base + end - 1, highWaterMark: 1 << 20 });
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    fsRead(this.handle.fd, buffer, offset, length, this.base + position, (err, bytesRead) => {
      if (err) return callback(err);
      if (bytesRead < length) return callback(new Error('unexpected end of file'));
      callback(null);
    });
  }
}
