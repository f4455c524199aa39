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

/**
 * Parses the header of a gzip member (RFC 1952 §2.3) and returns its canonical form, keeping
 * only what affects decompression (CM, FTEXT, XFL, the extra field). Undefined while `head` is
 * too short to hold the whole header; throws if it is not a gzip header.
 */
export function canonicalGzipHeader(head: Buffer): GzipHeaderFix | undefined {
  if (head.length < 10) return undefined;
  if (head[0] !== 0x1f || head[1] !== 0x8b || head[2] !== 8) throw new Error('not a deflate gzip member');
  const flags = head[3] as number;
  if ((flags & FRESERVED) !== 0) throw new Error('gzip header has reserved flag bits set');
  let at = 10;
  let extra: Buffer = Buffer.alloc(0);
  if (flags & FEXTRA) {
    if (head.length < at + 2) return undefined;
    const xlen = head.readUInt16LE(at);
    if (head.length < at + 2 + xlen) return undefined;
    extra = head.subarray(at, at + 2 + xlen);
    at += 2 + xlen;
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if ((flags & flag) === 0) continue;
    const end = head.indexOf(0, at);
    if (end === -1) return undefined;
    at = end + 1;
  }
  if (flags & FHCRC) {
    if (head.length < at + 2) return undefined;
    at += 2;
  }
  const fixed = Buffer.from([0x1f, 0x8b, 8, flags & (FTEXT | FEXTRA), 0, 0, 0, 0, head[8] as number, OS_UNKNOWN]);
  return { header: Buffer.concat([fixed, extra]), length: at };
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
