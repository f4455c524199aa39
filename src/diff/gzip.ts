/** gzip header flag bits (RFC 1952 §2.3.1). */
const FTEXT = 0x01;
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;

/** The fields of a gzip member header that a build can vary (RFC 1952 §2.3). */
export interface GzipHeader {
  /** Seconds since the epoch; 0 means none. */
  mtime: number;
  name: string | null;
  comment: string | null;
  /** The OS byte: 0 FAT, 3 Unix, 11 NTFS, 255 unknown… */
  os: number;
  /** Extra flags: 2 slowest compression, 4 fastest. */
  xfl: number;
  /** FTEXT and FHCRC (the other flags are told by the fields themselves). */
  flags: number;
  /** The extra field, hex, or null. */
  extra: string | null;
}

/** Bytes enough for any sane gzip header (name and comment included). */
export const GZIP_HEAD_BYTES = 64 * 1024;

/** Parses the header at the start of `head`; undefined if it is not complete there or not gzip. */
export function parseGzipHeader(head: Buffer): GzipHeader | undefined {
  if (head.length < 10 || head[0] !== 0x1f || head[1] !== 0x8b || head[2] !== 8) return undefined;
  const flags = head[3]!;
  let at = 10;
  let extra: string | null = null;
  if (flags & FEXTRA) {
    if (head.length < at + 2) return undefined;
    const xlen = head.readUInt16LE(at);
    if (head.length < at + 2 + xlen) return undefined;
    extra = head.toString('hex', at + 2, at + 2 + xlen);
    at += 2 + xlen;
  }
  const zeroTerminated = (): string | null | undefined => {
    const end = head.indexOf(0, at);
    if (end === -1) return undefined;
    // ISO 8859-1 by the RFC.
    const text = head.toString('latin1', at, end);
    at = end + 1;
    return text;
  };
  let name: string | null = null;
  let comment: string | null = null;
  if (flags & FNAME) {
    const text = zeroTerminated();
    if (text === undefined) return undefined;
    name = text;
  }
  if (flags & FCOMMENT) {
    const text = zeroTerminated();
    if (text === undefined) return undefined;
    comment = text;
  }
  return { mtime: head.readUInt32LE(4), name, comment, os: head[9]!, xfl: head[8]!, flags: flags & (FTEXT | FHCRC), extra };
}

export const GZIP_HEADER_FIELDS = ['mtime', 'name', 'comment', 'os', 'xfl', 'flags', 'extra'] as const;
