import { tarChecksumValid, TAR_BLOCK } from './tar-header.js';
import type { ArchiveFormat } from './types.js';

/**
 * What a blob is, from its first bytes (never its name): the one detector of kiln, behind
 * `unpack: true` (ingest), output normalization and `kiln diff`, so that what one of them
 * takes for a tar the others do too.
 */
export type ContentFormat = 'gzip' | 'xz' | 'bzip2' | 'zstd' | 'zip' | 'ar' | 'tar';

/** Bytes `detectFormat` looks at: one tar header block (the ustar magic sits at 257). */
export const FORMAT_HEAD_BYTES = TAR_BLOCK;

const GZIP_DEFLATE = Buffer.from([0x1f, 0x8b, 0x08]);
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const ZIP_LOCAL_HEADER = Buffer.from('PK\x03\x04', 'latin1');
/** The end record of a zip, first in an empty zip (APPNOTE §4.3.16). */
const ZIP_END_RECORD = Buffer.from('PK\x05\x06', 'latin1');
const AR_MAGIC = Buffer.from('!<arch>\n', 'latin1');
/** POSIX `ustar\0` and GNU `ustar ` share these five bytes at offset 257. */
const TAR_MAGIC = Buffer.from('ustar', 'latin1');
const TAR_MAGIC_OFFSET = 257;
/** "BZh", a block size digit, then a block magic (pi) or the end-of-stream magic (sqrt pi): three letters alone match text. */
const BZIP2_HEAD = /^BZh[1-9](1AY&SY|\x17rE8P\x90)/;

function startsWith(head: Buffer, magic: Buffer, at = 0): boolean {
  return head.length >= at + magic.length && head.subarray(at, at + magic.length).equals(magic);
}

export function detectFormat(head: Buffer): ContentFormat | undefined {
  // gzip with deflate (CM 8), the only method RFC 1952 §2.3.1 defines.
  if (startsWith(head, GZIP_DEFLATE)) return 'gzip';
  if (startsWith(head, XZ_MAGIC)) return 'xz';
  if (BZIP2_HEAD.test(head.toString('latin1', 0, 10))) return 'bzip2';
  if (startsWith(head, ZSTD_MAGIC)) return 'zstd';
  if (startsWith(head, ZIP_LOCAL_HEADER) || startsWith(head, ZIP_END_RECORD)) return 'zip';
  if (startsWith(head, AR_MAGIC)) return 'ar';
  if (isTarHeader(head)) return 'tar';
  return undefined;
}

/**
 * A tar header block: the POSIX/GNU magic, or, for pre-POSIX (v7) archives, which have none,
 * a valid header checksum. automake's `make dist` still writes v7 (GNU hello 2.10's tarball).
 */
function isTarHeader(head: Buffer): boolean {
  if (head.length < TAR_BLOCK) return false;
  return startsWith(head, TAR_MAGIC, TAR_MAGIC_OFFSET) || tarChecksumValid(head);
}

/**
 * The format `unpack: true` reads a blob as, derived from `detectFormat`: a compressed stream
 * is taken for a compressed tar, an ar archive for a .deb (the only ar archives inputs carry).
 * zstd alone is detected but not unpacked (a .deb's zstd payload is).
 */
export function detectArchiveFormat(head: Buffer): ArchiveFormat | undefined {
  const format = detectFormat(head);
  return format === undefined ? undefined : UNPACKED_AS[format];
}

const UNPACKED_AS: Record<ContentFormat, ArchiveFormat | undefined> = {
  gzip: 'tar.gz',
  xz: 'tar.xz',
  bzip2: 'tar.bz2',
  zstd: undefined,
  zip: 'zip',
  ar: 'deb',
  tar: 'tar',
};
