import { Readable } from 'node:stream';
import { ArchiveError } from './errors.js';
import type { ArchiveReaderOptions } from './types.js';
import { boundedReader, Reader } from './reader.js';

const AR_MAGIC = '!<arch>\n';
const AR_HEADER_BYTES = 60;
/** The GNU long-name table (`//`) is kept in memory: a sane one fits in this. */
export const MAX_AR_NAME_TABLE = 1 << 20;

/** One member of an ar archive: its header fields (absent when blank) and its data. */
export interface ArEntry {
  /** As written, long names resolved: not checked. */
  name: string;
  mtime?: number;
  uid?: number;
  gid?: number;
  /** The mode field, every bit as written. */
  mode?: number;
  size: number;
  /** The member's data, streamed from the archive: read it (or not) before asking for the next member. */
  body: Reader;
}

export interface ArReader {
  /** The next member, once what is left of the current one is skipped; undefined at the end. */
  next(): Promise<ArEntry | undefined>;
}

export type ArReaderOptions = ArchiveReaderOptions;

/**
 * The one ar reader of kiln (.deb unpacking, kiln diff): each 60-byte header (name 16, mtime
 * 12, uid 6, gid 6, mode 8, size 10, then "`\n") parsed here, bodies as bounded readers over
 * `raw`, members at even offsets. Names: GNU ends short names with `/` (dropped) and keeps long
 * ones in the `//` table (`/<offset>`, read once, never a member); BSD writes `#1/<length>`
 * and the name at the start of the body.
 */
export function readAr(raw: Reader, options: ArReaderOptions): ArReader {
  return new ArStream(raw, options);
}

/** The fields of one member header; undefined when it is not one. */
export function parseArHeader(block: Buffer): { name: string; size: number; mtime?: number; uid?: number; gid?: number; mode?: number } | undefined {
  if (block.length < AR_HEADER_BYTES || block.toString('latin1', 58, 60) !== '`\n') return undefined;
  const field = (from: number, to: number) => block.toString('latin1', from, to).trim();
  const number = (text: string, radix: number) => (text === '' ? undefined : parseInt(text, radix));
  const sizeText = field(48, 58);
  if (!/^\d+$/.test(sizeText)) return undefined;
  return {
    name: block.toString('utf8', 0, 16).trimEnd(),
    size: Number(sizeText),
    mtime: number(field(16, 28), 10),
    uid: number(field(28, 34), 10),
    gid: number(field(34, 40), 10),
    mode: number(field(40, 48), 8),
  };
}

/** The reader's state between members: the GNU long-name table once read. */
class ArStream implements ArReader {
  private started = false;
  private ended = false;
  private skipCurrent: (() => Promise<void>) | undefined;
  private names: Buffer | undefined;
  private readonly invalid: (what: string) => Error;

  constructor(
    private readonly raw: Reader,
    options: ArReaderOptions,
  ) {
    const { label } = options;
    const corrupt = options.corrupt ?? ((message: string) => new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: ${message}`, { label }));
    this.invalid = (what) => corrupt(`not a valid ar archive: ${what}`);
  }

  async next(): Promise<ArEntry | undefined> {
    const skip = this.skipCurrent;
    this.skipCurrent = undefined;
    await skip?.();
    if (this.ended) return undefined;
    if (!this.started) {
      this.started = true;
      if ((await this.raw.read(AR_MAGIC.length)).toString('latin1') !== AR_MAGIC) throw this.invalid('bad magic');
    }
    for (;;) {
      const block = await this.raw.read(AR_HEADER_BYTES);
      if (block.length === 0) {
        this.ended = true;
        return undefined;
      }
      const header = parseArHeader(block);
      if (header === undefined) throw this.invalid('bad member header');
      // Members start at even offsets: an odd-sized one is followed by a pad byte (not
      // checked: some writers leave out the last one).
      const pad = header.size % 2;
      if (header.name === '//') {
        await this.readNameTable(header.size);
        await this.raw.skip(pad);
        continue;
      }
      const { name, nameBytes } = await this.memberName(header);
      const size = header.size - nameBytes;
      const member = boundedReader(this.raw, size, (missing) => this.invalid(`member ${JSON.stringify(name)} is truncated (${missing} of ${size} bytes missing)`));
      this.skipCurrent = async () => {
        const left = member.left();
        if ((await this.raw.skip(left)) < left) throw this.invalid(`member ${JSON.stringify(name)} is truncated`);
        await this.raw.skip(pad);
      };
      return { name, mtime: header.mtime, uid: header.uid, gid: header.gid, mode: header.mode, size, body: member.reader };
    }
  }

  /** GNU: the long-name table, kept (copied: the reader may reuse its buffers). */
  private async readNameTable(size: number): Promise<void> {
    if (size > MAX_AR_NAME_TABLE) throw this.invalid(`a long-name table of ${size} bytes (at most ${MAX_AR_NAME_TABLE})`);
    const table = await this.raw.read(size);
    if (table.length < size) throw this.invalid('truncated long-name table');
    this.names = Buffer.from(table);
  }

  /** The member's name, and how many bytes of its body it took (BSD keeps it there). */
  private async memberName(header: { name: string; size: number }): Promise<{ name: string; nameBytes: number }> {
    const { name, size } = header;
    if (/^#1\/\d+$/.test(name)) {
      const length = Number(name.slice(3));
      if (length > size) throw this.invalid('BSD name longer than its member');
      const written = await this.raw.read(length);
      if (written.length < length) throw this.invalid('truncated BSD name');
      return { name: written.toString('utf8').replace(/\0+$/, ''), nameBytes: length };
    }
    if (/^\/\d+$/.test(name) && this.names !== undefined) {
      const at = Number(name.slice(1));
      const end = this.names.indexOf('/\n', at);
      return { name: this.names.toString('utf8', at, end === -1 ? this.names.length : end), nameBytes: 0 };
    }
    return { name: name !== '/' && name.endsWith('/') ? name.slice(0, -1) : name, nameBytes: 0 };
  }
}

export interface ArMember {
  /** The name of the chosen member, once its header has streamed past. */
  name: Promise<string>;
  /** The member's bytes, streamed; the rest of the archive is read and dropped after them. */
  stream: Readable;
}

/** Streams the first member of an ar archive (a .deb) whose name `pick` accepts. */
export function selectArMember(source: Readable, pick: (name: string) => boolean, label: string): ArMember {
  const raw = Reader.fromStream(source);
  const members = readAr(raw, { label, corrupt: (message) => new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: ${message} (.deb)`, { label }) });
  const chosen = (async () => {
    for (let member = await members.next(); member !== undefined; member = await members.next()) {
      if (pick(member.name)) return member;
    }
    throw new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: the .deb has no data.tar member`, { label });
  })();
  // Nothing chosen (no such member, a corrupt archive): the archive is released at once.
  chosen.catch(() => source.destroy());
  let finished = false;
  const stream = Readable.from(
    (async function* () {
      const member = await chosen;
      for (let c = await member.body.next(); c !== null; c = await member.body.next()) yield c;
      // A store blob is verified at its end: read it all.
      await raw.drain();
      finished = true;
    })(),
    { objectMode: false },
  );
  // A reader that gives up early (an unsupported payload) releases the archive too.
  stream.once('close', () => {
    if (!finished) source.destroy();
  });
  const name = chosen.then((member) => member.name);
  name.catch(() => {});
  return { name, stream };
}
