import { ReapiError } from './errors.js';

/*
 * The REAPI Tree message (field 1: root Directory, field 2: children Directories) handled at
 * the wire level. A child's digest is the sha256 of its bytes as the server encoded them, so
 * kiln hashes the embedded bytes themselves rather than a re-encoding that might differ (a field
 * kiln's .proto leaves out, a server's field order).
 */

const TREE_ROOT_TAG = 0x0a; // field 1, length-delimited
const TREE_CHILD_TAG = 0x12; // field 2, length-delimited

function writeVarint(n: number, out: number[]): void {
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

function field(tag: number, bytes: Uint8Array): Buffer[] {
  const head: number[] = [tag];
  writeVarint(bytes.length, head);
  return [Buffer.from(head), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)];
}

/** Tree bytes from Directory bytes: the root, then the children in the order given. */
export function joinTree(root: Uint8Array, children: Uint8Array[]): Buffer {
  return Buffer.concat([...field(TREE_ROOT_TAG, root), ...children.flatMap((c) => field(TREE_CHILD_TAG, c))]);
}

function bad(why: string): ReapiError {
  return new ReapiError('KILN_REAPI_BAD_RESPONSE', `output Tree message: ${why}`);
}

/**
 * The root and children Directory bytes of a Tree message; pure. At most `maxChildren`
 * children (a budget: a hostile server cannot make kiln walk millions of directories).
 */
export function splitTree(bytes: Uint8Array, maxChildren: number): { root: Buffer; children: Buffer[] } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (pos >= buf.length) throw bad('ends inside a varint');
      const b = buf[pos++]!;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) throw bad('has a varint beyond 2^53');
        return result;
      }
      scale *= 128;
    }
    throw bad('has a varint longer than kiln reads');
  };
  let root: Buffer | undefined;
  const children: Buffer[] = [];
  while (pos < buf.length) {
    const key = varint();
    const wireType = key % 8;
    const fieldNumber = Math.floor(key / 8);
    switch (wireType) {
      case 0:
        varint();
        break;
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        const len = varint();
        if (pos + len > buf.length) throw bad('a field runs past the end');
        const value = buf.subarray(pos, pos + len);
        pos += len;
        if (fieldNumber === 1) {
          if (root) throw bad('has two roots');
          root = value;
        } else if (fieldNumber === 2) {
          if (children.length >= maxChildren) throw bad(`has more than ${maxChildren} directories`);
          children.push(value);
        }
        break;
      }
      default:
        throw bad(`has wire type ${wireType}, which the Tree message cannot hold`);
    }
    if (pos > buf.length) throw bad('a field runs past the end');
  }
  if (!root) throw bad('has no root directory');
  return { root, children };
}
