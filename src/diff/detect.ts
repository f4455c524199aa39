/**
 * What a blob is, from its first bytes (never its name): a container kiln diff opens, or
 * undefined for a leaf compared as text or bytes.
 */
export type ContentFormat = 'gzip' | 'xz' | 'bzip2' | 'zstd' | 'zip' | 'ar' | 'tar';

/** Bytes `detectFormat` looks at: one tar header block. */
export const HEAD_BYTES = 512;

const startsWith = (head: Buffer, magic: number[] | string, at = 0): boolean => {
  const bytes = typeof magic === 'string' ? Buffer.from(magic, 'latin1') : Buffer.from(magic);
  return head.length >= at + bytes.length && head.subarray(at, at + bytes.length).equals(bytes);
};

export function detectFormat(head: Buffer): ContentFormat | undefined {
  // gzip with deflate (CM 8): RFC 1952 §2.3.1.
  if (startsWith(head, [0x1f, 0x8b, 0x08])) return 'gzip';
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  // "BZh" + block size digit + a block magic (pi) or the end-of-stream magic (sqrt pi): three letters alone match text.
  if (/^BZh[1-9](1AY&SY|\x17rE8P\x90)/.test(head.subarray(0, 10).toString('latin1'))) return 'bzip2';
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  // A local file header, or the end record of an empty zip.
  if (startsWith(head, 'PK\x03\x04') || startsWith(head, 'PK\x05\x06')) return 'zip';
  if (startsWith(head, '!<arch>\n')) return 'ar';
  if (isTarHeader(head)) return 'tar';
  return undefined;
}

/** POSIX/GNU magic at 257, or (for old v7 archives) a valid header checksum. */
function isTarHeader(head: Buffer): boolean {
  if (head.length < 512) return false;
  if (startsWith(head, 'ustar', 257)) return true;
  return tarChecksumValid(head);
}

/** The header checksum (bytes 148..155 counted as spaces) matches the octal field. */
export function tarChecksumValid(block: Buffer): boolean {
  const field = block.toString('latin1', 148, 156).replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]+$/.test(field)) return false;
  let sum = 8 * 0x20;
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += block[i]!;
  return sum === parseInt(field, 8);
}

/** UTF-8 without NUL bytes: shown as a unified diff. */
export function isText(data: Buffer): boolean {
  if (data.includes(0)) return false;
  try {
    UTF8.decode(data);
    return true;
  } catch {
    return false;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
