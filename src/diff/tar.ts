import { DiffError } from './errors.js';
import type { ContainerEntry, EntryMeta, EntryStream } from './entries.js';
import { tarChecksumValid } from './detect.js';
import { boundedReader, type Reader } from './reader.js';
import type { EntryType } from './types.js';

const BLOCK = 512;
/** pax and GNU long-name bodies are metadata: a sane one fits in this. */
const MAX_META_BODY = 1 << 20;

/** pax keys that the entry's own fields carry (POSIX.1-2008 pax, "pax Header Block"). */
const PAX_FIELDS = new Set(['path', 'linkpath', 'size', 'uid', 'gid', 'uname', 'gname', 'mtime', 'atime', 'ctime']);

/**
 * Streams the entries of a tar (ustar, GNU and pax) from `raw`: headers are parsed here, a
 * member's body is a bounded reader over `raw`, never buffered. Only what the comparison
 * needs: names (pax path, GNU long names, ustar prefix), mode, owner, times, link targets.
 */
export function tarEntries(raw: Reader, label: string): EntryStream {
  let skipCurrent: (() => Promise<void>) | undefined;
  let global: Record<string, string> = {};
  let done = false;

  const corrupt = (what: string) => new DiffError('KILN_DIFF_CORRUPT', `${label}: not a valid tar: ${what}`);

  async function body(size: number): Promise<Buffer> {
    if (size > MAX_META_BODY) throw corrupt(`a metadata record of ${size} bytes`);
    const data = await raw.read(size);
    if (data.length < size) throw corrupt('truncated metadata record');
    await raw.skip(padding(size));
    return data;
  }

  return {
    async next(): Promise<ContainerEntry | undefined> {
      if (skipCurrent) {
        await skipCurrent();
        skipCurrent = undefined;
      }
      if (done) return undefined;
      let pax: Record<string, string> = {};
      let longName: string | undefined;
      let longLink: string | undefined;
      for (;;) {
        const block = await raw.read(BLOCK);
        if (block.length === 0) {
          done = true; // no end-of-archive blocks: tolerated, as GNU tar does with a warning
          return undefined;
        }
        if (block.length < BLOCK) throw corrupt('truncated header');
        if (isZero(block)) {
          done = true;
          return undefined;
        }
        if (!tarChecksumValid(block)) throw corrupt('bad header checksum');
        const h = parseHeader(block);
        switch (h.typeflag) {
          case 'x':
            pax = { ...pax, ...parsePax(await body(h.size)) };
            continue;
          case 'g':
            global = { ...global, ...parsePax(await body(h.size)) };
            continue;
          case 'L':
            longName = cString(await body(h.size));
            continue;
          case 'K':
            longLink = cString(await body(h.size));
            continue;
        }
        const records = { ...global, ...pax };
        const size = records.size !== undefined ? Number(records.size) : h.size;
        if (!Number.isSafeInteger(size) || size < 0) throw corrupt(`bad size ${records.size}`);
        const name = records.path ?? longName ?? (h.prefix ? `${h.prefix}/${h.name}` : h.name);
        const type = entryType(h.typeflag);
        const meta: EntryMeta = {
          type,
          mode: h.mode & 0o7777,
          uid: records.uid !== undefined ? Number(records.uid) : h.uid,
          gid: records.gid !== undefined ? Number(records.gid) : h.gid,
          uname: records.uname ?? h.uname,
          gname: records.gname ?? h.gname,
          mtime: records.mtime !== undefined ? Number(records.mtime) : h.mtime,
          ...(records.atime !== undefined && { atime: Number(records.atime) }),
          ...(records.ctime !== undefined && { ctime: Number(records.ctime) }),
          ...((type === 'symlink' || type === 'hardlink') && { linkTarget: records.linkpath ?? longLink ?? h.linkname }),
        };
        const extra: Record<string, string> = {};
        if (type === 'character-device' || type === 'block-device') extra.device = `${h.devmajor},${h.devminor}`;
        for (const [key, value] of Object.entries(records)) if (!PAX_FIELDS.has(key)) extra[`pax ${key}`] = value;
        if (Object.keys(extra).length > 0) meta.extra = extra;

        const member = boundedReader(raw, size, `${label}: member ${JSON.stringify(name)}`);
        skipCurrent = async () => {
          await raw.skip(member.left());
          await raw.skip(padding(size));
        };
        const entry: ContainerEntry = { name, meta };
        // Hard links and others carry no body (or one nobody reads); only files are content.
        if (type === 'file') entry.content = { size, reopenable: false, open: () => member.reader };
        return entry;
      }
    },
  };
}

interface TarHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  prefix: string;
}

/** One 512-byte header block (POSIX ustar layout; GNU keeps the same offsets). */
export function parseHeader(block: Buffer): TarHeader {
  const ustar = block.toString('latin1', 257, 262) === 'ustar';
  // GNU's "ustar  \0" stores other things (atime, ctime) where POSIX keeps the prefix.
  const posix = ustar && block.toString('latin1', 263, 265) === '00';
  return {
    name: cString(block.subarray(0, 100)),
    mode: number(block.subarray(100, 108)),
    uid: number(block.subarray(108, 116)),
    gid: number(block.subarray(116, 124)),
    size: number(block.subarray(124, 136)),
    mtime: number(block.subarray(136, 148)),
    typeflag: String.fromCharCode(block[156]!),
    linkname: cString(block.subarray(157, 257)),
    uname: ustar ? cString(block.subarray(265, 297)) : '',
    gname: ustar ? cString(block.subarray(297, 329)) : '',
    devmajor: ustar ? number(block.subarray(329, 337)) : 0,
    devminor: ustar ? number(block.subarray(337, 345)) : 0,
    prefix: posix ? cString(block.subarray(345, 500)) : '',
  };
}

/** An octal field, or GNU base-256 when the high bit of the first byte is set. */
function number(field: Buffer): number {
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x3f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return (field[0]! & 0x40) !== 0 ? -value : value;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : parseInt(text, 8) || 0;
}

function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.toString('utf8', 0, end === -1 ? field.length : end);
}

/** pax records: "<length> <key>=<value>\n", the length counting the whole record. */
export function parsePax(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number(data.toString('latin1', at, space));
    if (!Number.isInteger(length) || length <= 0 || at + length > data.length) break;
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    if (eq > 0) records[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return records;
}

function entryType(typeflag: string): EntryType {
  switch (typeflag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '1':
      return 'hardlink';
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
    default:
      return 'other';
  }
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function isZero(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}
