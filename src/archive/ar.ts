import { Readable, Transform, type TransformCallback } from 'node:stream';
import { ArchiveError } from './errors.js';

const AR_MAGIC = '!<arch>\n';
const AR_HEADER_BYTES = 60;

export interface ArMemberHeader {
  name: string;
  size: number;
}

/**
 * Parses one 60-byte ar member header (name 16, mtime 12, uid 6, gid 6, mode 8, size 10,
 * then "`\n"). GNU ar ends names with `/`; that is dropped. Returns undefined if malformed.
 */
export function parseArHeader(block: Buffer): ArMemberHeader | undefined {
  if (block.length !== AR_HEADER_BYTES || block.toString('latin1', 58, 60) !== '`\n') return undefined;
  const name = block.toString('utf8', 0, 16).trimEnd().replace(/\/$/, '');
  const sizeText = block.toString('latin1', 48, 58).trim();
  if (!/^\d+$/.test(sizeText)) return undefined;
  return { name, size: Number(sizeText) };
}

export interface ArMember {
  /** The name of the chosen member, once its header has streamed past. */
  name: Promise<string>;
  /** The member's bytes, streamed: the rest of the archive is read and dropped. */
  stream: Readable;
}

/** Streams the first member of an ar archive (a .deb) whose name `pick` accepts. */
export function selectArMember(source: Readable, pick: (name: string) => boolean, label: string): ArMember {
  let resolveName!: (name: string) => void;
  let rejectName!: (err: Error) => void;
  const name = new Promise<string>((resolve, reject) => {
    resolveName = resolve;
    rejectName = reject;
  });
  name.catch(() => {});

  let state: 'magic' | 'header' | 'body' | 'pad' | 'done' = 'magic';
  let pending = Buffer.alloc(0);
  let remaining = 0;
  let padded = false;
  let selected = false;
  let found = false;
  const corrupt = (what: string) => new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: not a valid ar (.deb) archive: ${what}`, { label });

  const splitter = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      let buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      pending = Buffer.alloc(0);
      while (buf.length > 0 && state !== 'done') {
        if (state === 'magic' || state === 'header') {
          const need = state === 'magic' ? AR_MAGIC.length : AR_HEADER_BYTES;
          if (buf.length < need) {
            pending = Buffer.from(buf);
            break;
          }
          const block = buf.subarray(0, need);
          buf = buf.subarray(need);
          if (state === 'magic') {
            if (block.toString('latin1') !== AR_MAGIC) return callback(corrupt('bad magic'));
            state = 'header';
            continue;
          }
          const header = parseArHeader(block);
          if (header === undefined) return callback(corrupt('bad member header'));
          remaining = header.size;
          padded = header.size % 2 === 1;
          selected = !found && pick(header.name);
          if (selected) {
            found = true;
            resolveName(header.name);
          }
          state = 'body';
          if (remaining === 0) state = selected ? 'done' : 'header';
          if (state === 'done') this.push(null);
          continue;
        }
        if (state === 'body') {
          const take = Math.min(remaining, buf.length);
          if (selected) this.push(buf.subarray(0, take));
          remaining -= take;
          buf = buf.subarray(take);
          if (remaining === 0) {
            if (selected) {
              state = 'done';
              this.push(null);
            } else {
              // Members start at even offsets: an odd-sized member is followed by one pad byte.
              state = padded ? 'pad' : 'header';
            }
          }
          continue;
        }
        // state === 'pad'
        buf = buf.subarray(1);
        state = 'header';
      }
      callback();
    },
    flush(callback: TransformCallback) {
      if (!found) {
        const err = new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: the .deb has no data.tar member`, { label });
        rejectName(err);
        return callback(err);
      }
      if (state !== 'done') return callback(corrupt('truncated member'));
      callback();
    },
  });

  splitter.on('error', (err) => rejectName(err));
  source.on('error', (err) => splitter.destroy(err));
  source.pipe(splitter);
  return { name, stream: splitter };
}
