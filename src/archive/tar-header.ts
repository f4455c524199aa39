/**
 * The pure half of the tar reader: one 512-byte header block into its fields, the checksum,
 * pax records. Layouts: POSIX.1-2008 `pax` (ustar header block, pax extended headers), GNU tar
 * (`ustar  \0` magic, base-256 numbers, `L`/`K` long names), and pre-POSIX v7 (no magic).
 */

export const TAR_BLOCK = 512;

/** The fields of one header block, as written (before pax records or long names apply). */
export interface TarHeaderBlock {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  /** NaN when the field is not a number: the archive cannot be walked past it. */
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** POSIX ustar only: the leading part of a long name. */
  prefix: string;
}

const POSIX_MAGIC = 'ustar\0';

/**
 * The header checksum (bytes 148..155 counted as spaces, bytes summed unsigned) matches the
 * octal field. An all-zero block has no valid checksum: it ends the archive.
 */
export function tarChecksumValid(block: Buffer): boolean {
  const field = block.toString('latin1', 148, 156).replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]+$/.test(field)) return false;
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += block[i]!;
  for (let i = 156; i < TAR_BLOCK; i++) sum += block[i]!;
  return sum === parseInt(field, 8);
}

/** One header block. The owner names, device numbers and prefix exist from ustar on; v7 has none. */
export function parseTarHeader(block: Buffer): TarHeaderBlock {
  const ustar = block.toString('latin1', 257, 262) === 'ustar';
  // GNU's "ustar  \0" keeps other things (atime, ctime) where POSIX keeps the prefix.
  const posix = block.toString('latin1', 257, 263) === POSIX_MAGIC;
  return {
    name: cString(block, 0, 100),
    mode: number(block, 100, 8),
    uid: number(block, 108, 8),
    gid: number(block, 116, 8),
    size: number(block, 124, 12, true),
    mtime: number(block, 136, 12),
    typeflag: String.fromCharCode(block[156]!),
    linkname: cString(block, 157, 100),
    uname: ustar ? cString(block, 265, 32) : '',
    gname: ustar ? cString(block, 297, 32) : '',
    devmajor: ustar ? number(block, 329, 8) : 0,
    devminor: ustar ? number(block, 337, 8) : 0,
    prefix: posix ? cString(block, 345, 155) : '',
  };
}

/**
 * A numeric field: octal text (leading spaces, ended by a space or NUL), or GNU base-256
 * when the high bit of the first byte is set. A field that is neither gives 0, or NaN when
 * `strict` (the size, which the reader cannot guess).
 */
function number(block: Buffer, at: number, width: number, strict = false): number {
  const first = block[at]!;
  if (first & 0x80) {
    let value = first & 0x3f;
    for (let i = at + 1; i < at + width; i++) value = value * 256 + block[i]!;
    return (first & 0x40) !== 0 ? -value : value;
  }
  const text = cString(block, at, width, 'latin1').trim();
  if (text === '') return 0;
  if (/^[0-7]+$/.test(text)) return parseInt(text, 8);
  return strict ? Number.NaN : parseInt(text, 8) || 0;
}

function cString(block: Buffer, at: number, width: number, encoding: BufferEncoding = 'utf8'): string {
  const end = block.indexOf(0, at);
  return block.toString(encoding, at, end === -1 || end > at + width ? at + width : end);
}

/** A NUL-terminated body (a GNU long name or link). */
export function cStringOf(body: Buffer): string {
  return cString(body, 0, body.length);
}

/**
 * pax records: "<length> <key>=<value>\n", the length counting the whole record. Parsing stops
 * at the first malformed record. An empty value is kept: it unsets the keyword (POSIX pax,
 * "pax Extended Header"), which the reader applies.
 */
export function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number(data.toString('latin1', at, space));
    if (!Number.isInteger(length) || length <= 0 || at + length > data.length) break;
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}
