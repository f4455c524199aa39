/**
 * The uncompressed size of a single .xz stream, read from its index (xz file format 1.1.0,
 * sections 2.1.2 and 4): the footer says where the index starts, the index lists each block's
 * sizes. Pure. Returns undefined for anything but exactly one stream with no padding (several
 * concatenated streams, a truncated or malformed file, sizes beyond `maxBytes`): the caller then
 * reads that member on its own. The sizes are claims; xz checks them against the data when it
 * decompresses (a mismatch is corrupt data), so a lying index fails the read instead of
 * shifting the split.
 */
export function xzStreamSize(bytes: Uint8Array, maxBytes: number): number | undefined {
  const HEADER = 12;
  const FOOTER = 12;
  if (bytes.length < HEADER + FOOTER) return undefined;
  if (!startsWith(bytes, XZ_MAGIC, 0) || bytes[bytes.length - 2] !== 0x59 || bytes[bytes.length - 1] !== 0x5a) return undefined;
  const footer = bytes.length - FOOTER;
  const backward = ((bytes[footer + 4]! | (bytes[footer + 5]! << 8) | (bytes[footer + 6]! << 16)) + bytes[footer + 7]! * 2 ** 24 + 1) * 4;
  const indexStart = footer - backward;
  if (indexStart < HEADER || bytes[indexStart] !== 0x00) return undefined;
  const reader = { at: indexStart + 1, end: footer - 4 };
  const records = readVarint(bytes, reader);
  if (records === undefined || records > backward) return undefined;
  let blocks = 0;
  let total = 0;
  for (let i = 0; i < records; i++) {
    const unpadded = readVarint(bytes, reader);
    const size = readVarint(bytes, reader);
    if (unpadded === undefined || size === undefined) return undefined;
    blocks += Math.ceil(unpadded / 4) * 4;
    total += size;
    if (total > maxBytes) return undefined;
  }
  // What follows the records is zero padding to a multiple of four bytes, then the index's CRC32.
  const padding = reader.end - reader.at;
  if (padding < 0 || padding > 3 || (reader.end - indexStart) % 4 !== 0) return undefined;
  for (let i = reader.at; i < reader.end; i++) if (bytes[i] !== 0) return undefined;
  return HEADER + blocks === indexStart ? total : undefined;
}

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

function startsWith(bytes: Uint8Array, magic: number[], at: number): boolean {
  return magic.every((b, i) => bytes[at + i] === b);
}

/** A multibyte integer (at most 9 bytes, 7 bits each, least significant first); undefined when malformed or past `end`. */
function readVarint(bytes: Uint8Array, reader: { at: number; end: number }): number | undefined {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    if (reader.at >= reader.end) return undefined;
    const byte = bytes[reader.at++]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      // The shortest encoding only: a trailing zero byte is not valid.
      if (byte === 0 && i > 0) return undefined;
      return value > Number.MAX_SAFE_INTEGER ? undefined : value;
    }
  }
  return undefined;
}
