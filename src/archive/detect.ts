import type { ArchiveFormat } from './types.js';

/** How many leading bytes `detectArchiveFormat` needs to see (the tar magic sits at 257). */
export const ARCHIVE_HEAD_BYTES = 512;

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const BZIP2_MAGIC = Buffer.from('BZh');
const ZIP_MAGIC = Buffer.from('PK\x03\x04', 'latin1');
const AR_MAGIC = Buffer.from('!<arch>\n');
/** POSIX `ustar\0` and GNU `ustar ` share these five bytes at offset 257. */
const TAR_MAGIC = Buffer.from('ustar');
const TAR_MAGIC_OFFSET = 257;

function startsWith(head: Buffer, magic: Buffer, offset = 0): boolean {
  return head.length >= offset + magic.length && head.subarray(offset, offset + magic.length).equals(magic);
}

export function isGzip(head: Buffer): boolean {
  return startsWith(head, GZIP_MAGIC);
}

export function isTar(head: Buffer): boolean {
  return startsWith(head, TAR_MAGIC, TAR_MAGIC_OFFSET);
}

/**
 * The archive format of a blob from its first bytes (at least 512 for tar), by magic bytes,
 * never by name. An ar archive is taken for a .deb: the only ar archives inputs carry.
 */
export function detectArchiveFormat(head: Buffer): ArchiveFormat | undefined {
  if (isGzip(head)) return 'tar.gz';
  if (startsWith(head, XZ_MAGIC)) return 'tar.xz';
  if (startsWith(head, BZIP2_MAGIC)) return 'tar.bz2';
  if (startsWith(head, ZIP_MAGIC)) return 'zip';
  if (startsWith(head, AR_MAGIC)) return 'deb';
  if (isTar(head)) return 'tar';
  return undefined;
}
