import { Readable } from 'node:stream';
import { ArchiveError } from './errors.js';
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

export interface ArReaderOptions {
  /** Named in errors: the input or side the archive belongs to. */
  label: string;
  /** Builds the error for bytes that are not a valid ar archive; default an ArchiveError KILN_ARCHIVE_CORRUPT. */
  corrupt?: (message: string) => Error;
}

/**
 * The one ar reader of kiln (.deb unpacking, kiln diff): each 60-byte header (name 16, mtime
 * 12, uid 6, gid 6, mode 8, size 10, then "`\n") parsed here, bodies as bounded readers over
 * `raw`, members at even offsets. Names: GNU ends short names with `/` (dropped) and keeps long
 * ones in the `//` table (`/<offset>`, read once, never a member); BSD writes `#1/<length>`
 * and the name at the start of the body.
 */
export function readAr(raw: Reader, options: ArReaderOptions): ArReader {
  const { label } = options;
  const corrupt = options.corrupt ?? ((message: string) => new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: ${message}`, { label }));
  const invalid = (what: string) => corrupt(`not a valid ar archive: ${what}`);
  let started = false;
  let ended = false;
  let skipCurrent: (() => Promise<void>) | undefined;
  let names: Buffer | undefined;

  async function next(): Promise<ArEntry | undefined> {
    if (skipCurrent !== undefined) {
      const skip = skipCurrent;
      skipCurrent = undefined;
      await skip();
    }
    if (ended) return undefined;
    if (!started) {
      started = true;
      if ((await raw.read(AR_MAGIC.length)).toString('latin1') !== AR_MAGIC) throw invalid('bad magic');
    }
    for (;;) {
      const block = await raw.read(AR_HEADER_BYTES);
      if (block.length === 0) {
        ended = true;
        return undefined;
      }
      if (block.length < AR_HEADER_BYTES || block.toString('latin1', 58, 60) !== '`\n') throw invalid('bad member header');
      const field = (from: number, to: number) => block.toString('latin1', from, to).trim();
      const sizeText = field(48, 58);
      if (!/^\d+$/.test(sizeText)) throw invalid(`bad member size ${JSON.stringify(sizeText)}`);
      let size = Number(sizeText);
      // Members start at even offsets: an odd-sized one is followed by a pad byte (not checked: some writers leave the last one out).
      const pad = size % 2;
      let name = block.toString('utf8', 0, 16).trimEnd();
      if (name === '//') {
        if (size > MAX_AR_NAME_TABLE) throw invalid(`a long-name table of ${size} bytes (at most ${MAX_AR_NAME_TABLE})`);
        names = await raw.read(size);
        if (names.length < size) throw invalid('truncated long-name table');
        await raw.skip(pad);
        continue;
      }
      if (/^#1\/\d+$/.test(name)) {
        const length = Number(name.slice(3));
        if (length > size) throw invalid('BSD name longer than its member');
        const written = await raw.read(length);
        if (written.length < length) throw invalid('truncated BSD name');
        name = written.toString('utf8').replace(/\0+$/, '');
        size -= length;
      } else if (/^\/\d+$/.test(name) && names !== undefined) {
        const at = Number(name.slice(1));
        const end = names.indexOf('/\n', at);
        name = names.toString('utf8', at, end === -1 ? names.length : end);
      } else if (name !== '/' && name.endsWith('/')) {
        name = name.slice(0, -1);
      }
      const number = (text: string, radix: number) => (text === '' ? undefined : parseInt(text, radix));
      const member = boundedReader(raw, size, (missing) => invalid(`member ${JSON.stringify(name)} is truncated (${missing} of ${size} bytes missing)`));
      skipCurrent = async () => {
        const left = member.left();
        if ((await raw.skip(left)) < left) throw invalid(`member ${JSON.stringify(name)} is truncated`);
        await raw.skip(pad);
      };
      return {
        name,
        mtime: number(field(16, 28), 10),
        uid: number(field(28, 34), 10),
        gid: number(field(34, 40), 10),
        mode: number(field(40, 48), 8),
        size,
        body: member.reader,
      };
    }
  }

  return { next };
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
