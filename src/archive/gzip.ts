import { Transform, type TransformCallback } from 'node:stream';

/** gzip header flag bits (RFC 1952 §2.3.1). */
const FTEXT = 0x01;
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const FRESERVED = 0xe0;
/** OS byte "unknown": the same on every build machine. */
const OS_UNKNOWN = 0xff;

export interface GzipHeaderFix {
  /** The canonical header: mtime 0, no file name, no comment, no header CRC, OS 255. */
  header: Buffer;
  /** Length of the original header, which the canonical one replaces. */
  length: number;
}

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

export const GZIP_HEADER_FIELDS = ['mtime', 'name', 'comment', 'os', 'xfl', 'flags', 'extra'] as const;

/** Bytes enough for any sane gzip header (name and comment included): what kiln diff reads of one. */
export const GZIP_HEAD_BYTES = 64 * 1024;

/**
 * The one gzip header parser (RFC 1952 §2.3), for normalization and for kiln diff: the fields,
 * the raw extra field (XLEN included) and the header's length. `incomplete` while `head` is too
 * short to hold the whole header; `not-gzip` when it is not a deflate gzip member.
 */
export function readGzipHeader(head: Buffer): { header: GzipHeader; extraRaw: Buffer; rawFlags: number; length: number } | 'incomplete' | 'not-gzip' {
  if (head.length >= 3 && (head[0] !== 0x1f || head[1] !== 0x8b || head[2] !== 8)) return 'not-gzip';
  if (head.length < 10) return 'incomplete';
  const flags = head[3] as number;
  let at = 10;
  let extraRaw: Buffer = Buffer.alloc(0);
  if (flags & FEXTRA) {
    if (head.length < at + 2) return 'incomplete';
    const xlen = head.readUInt16LE(at);
    if (head.length < at + 2 + xlen) return 'incomplete';
    extraRaw = head.subarray(at, at + 2 + xlen);
    at += 2 + xlen;
  }
  const texts: Array<string | null> = [];
  for (const flag of [FNAME, FCOMMENT]) {
    if ((flags & flag) === 0) {
      texts.push(null);
      continue;
    }
    const end = head.indexOf(0, at);
    if (end === -1) return 'incomplete';
    texts.push(head.toString('latin1', at, end)); // ISO 8859-1 by the RFC
    at = end + 1;
  }
  if (flags & FHCRC) {
    if (head.length < at + 2) return 'incomplete';
    at += 2;
  }
  const header: GzipHeader = {
    mtime: head.readUInt32LE(4),
    name: texts[0]!,
    comment: texts[1]!,
    os: head[9] as number,
    xfl: head[8] as number,
    flags: flags & (FTEXT | FHCRC),
    extra: extraRaw.length ? extraRaw.toString('hex', 2) : null,
  };
  return { header, extraRaw, rawFlags: flags, length: at };
}

/** Parses the header at the start of `head`; undefined if it is not complete there or not gzip. */
export function parseGzipHeader(head: Buffer): GzipHeader | undefined {
  const read = readGzipHeader(head);
  return typeof read === 'string' ? undefined : read.header;
}

/**
 * The canonical form of a gzip member's header, keeping only what affects decompression (CM,
 * FTEXT, XFL, the extra field). Undefined while `head` is too short to hold the whole header;
 * throws if it is not a gzip header.
 */
export function canonicalGzipHeader(head: Buffer): GzipHeaderFix | undefined {
  const read = readGzipHeader(head);
  if (read === 'incomplete') return undefined;
  if (read === 'not-gzip') throw new Error('not a deflate gzip member');
  if ((read.rawFlags & FRESERVED) !== 0) throw new Error('gzip header has reserved flag bits set');
  const fixed = Buffer.from([0x1f, 0x8b, 8, read.rawFlags & (FTEXT | FEXTRA), 0, 0, 0, 0, read.header.xfl, OS_UNKNOWN]);
  return { header: Buffer.concat([fixed, read.extraRaw]), length: read.length };
}

/** A gzip header can be as long as its name and comment; a sane one fits in this. */
const MAX_HEADER_BYTES = 1 << 20;

/** Replaces the first gzip member's header with its canonical form; the deflate data passes untouched. */
export function fixGzipHeader(): Transform {
  let head: Buffer | undefined = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (head === undefined) return callback(null, chunk);
      head = Buffer.concat([head, chunk]);
      let fix: GzipHeaderFix | undefined;
      try {
        fix = canonicalGzipHeader(head);
      } catch (err) {
        return callback(err as Error);
      }
      if (fix === undefined) {
        if (head.length > MAX_HEADER_BYTES) return callback(new Error('gzip header too long'));
        return callback();
      }
      this.push(fix.header);
      const rest = head.subarray(fix.length);
      head = undefined;
      callback(null, rest);
    },
    flush(callback: TransformCallback) {
      callback(head === undefined ? null : new Error('truncated gzip header'));
    },
  });
}
