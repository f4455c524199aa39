import { DiffError } from './errors.js';
import type { ContainerEntry, EntryStream } from './entries.js';
import { boundedReader, type Reader } from './reader.js';

const AR_MAGIC = '!<arch>\n';
const HEADER = 60;
const MAX_NAME_TABLE = 1 << 20;

/**
 * Streams the members of an ar archive (a .deb: debian-binary, control.tar.*, data.tar.*):
 * name, mtime, uid, gid and mode from each 60-byte header; bodies as bounded readers. GNU
 * long names (the `//` table) and BSD `#1/<len>` names are resolved.
 */
export function arEntries(raw: Reader, label: string): EntryStream {
  let started = false;
  let done = false;
  let skipCurrent: (() => Promise<void>) | undefined;
  let names: Buffer | undefined;
  const corrupt = (what: string) => new DiffError('KILN_DIFF_CORRUPT', `${label}: not a valid ar archive: ${what}`);

  return {
    async next(): Promise<ContainerEntry | undefined> {
      if (skipCurrent) {
        await skipCurrent();
        skipCurrent = undefined;
      }
      if (done) return undefined;
      if (!started) {
        started = true;
        if ((await raw.read(AR_MAGIC.length)).toString('latin1') !== AR_MAGIC) throw corrupt('bad magic');
      }
      for (;;) {
        const block = await raw.read(HEADER);
        if (block.length === 0) {
          done = true;
          return undefined;
        }
        if (block.length < HEADER || block.toString('latin1', 58, 60) !== '`\n') throw corrupt('bad member header');
        const field = (from: number, to: number) => block.toString('latin1', from, to).trim();
        const sizeText = field(48, 58);
        if (!/^\d+$/.test(sizeText)) throw corrupt(`bad member size ${JSON.stringify(sizeText)}`);
        let size = Number(sizeText);
        const padded = size % 2;
        let name = block.toString('utf8', 0, 16).trimEnd();
        if (name === '//') {
          // GNU: the long-name table, read once, never compared as a member.
          if (size > MAX_NAME_TABLE) throw corrupt('over-long name table');
          names = await raw.read(size);
          await raw.skip(padded);
          continue;
        }
        if (/^#1\/\d+$/.test(name)) {
          // BSD: the name is the first <len> bytes of the body.
          const length = Number(name.slice(3));
          if (length > size) throw corrupt('BSD name longer than its member');
          name = (await raw.read(length)).toString('utf8').replace(/\0+$/, '');
          size -= length;
        } else if (/^\/\d+$/.test(name) && names !== undefined) {
          const at = Number(name.slice(1));
          const end = names.indexOf('/\n', at);
          name = names.toString('utf8', at, end === -1 ? names.length : end);
        } else if (name !== '/' && name.endsWith('/')) {
          name = name.slice(0, -1);
        }
        const num = (text: string, radix: number) => (text === '' ? undefined : parseInt(text, radix));
        const mode = num(field(40, 48), 8);
        const member = boundedReader(raw, size, `${label}: member ${JSON.stringify(name)}`);
        skipCurrent = async () => {
          await raw.skip(member.left());
          await raw.skip(padded);
        };
        return {
          name,
          meta: {
            type: 'file',
            mtime: num(field(16, 28), 10),
            uid: num(field(28, 34), 10),
            gid: num(field(34, 40), 10),
            mode: mode === undefined ? undefined : mode & 0o7777,
          },
          content: { size, reopenable: false, open: () => member.reader },
        };
      }
    },
  };
}
