import type { Reader } from '../archive/reader.js';
import { readTar, type TarEntry, type TarEntryType } from '../archive/tar.js';
import type { ContainerEntry, EntryMeta, EntryStream } from './entries.js';
import { DiffError } from './errors.js';
import type { EntryType } from './types.js';

/** pax keys that the entry's own fields carry (POSIX.1-2008 pax, "pax Header Block"). */
const PAX_FIELDS = new Set(['path', 'linkpath', 'size', 'uid', 'gid', 'uname', 'gname', 'mtime', 'atime', 'ctime']);

/**
 * The entries of a tar as kiln diff compares them, read by the archive layer's tar reader
 * (ustar, GNU, pax, v7) from `raw`: names and metadata, a member's body as a bounded reader
 * over `raw`, never buffered. A name is data here, however hostile.
 */
export function tarEntries(raw: Reader, label: string): EntryStream {
  const tar = readTar(raw, { label, corrupt: (message) => new DiffError('KILN_DIFF_CORRUPT', `${label}: ${message}`) });
  return {
    async next(): Promise<ContainerEntry | undefined> {
      const entry = await tar.next();
      if (entry === undefined) return undefined;
      const meta = tarMeta(entry);
      const compared: ContainerEntry = { name: entry.name, meta };
      // Hard links and others carry no body (or one nobody reads); only files are content.
      if (meta.type === 'file') compared.content = { size: entry.size, reopenable: false, open: () => entry.body };
      return compared;
    },
  };
}

function tarMeta(entry: TarEntry): EntryMeta {
  const type = ENTRY_TYPES[entry.type];
  const meta: EntryMeta = { type, mode: entry.mode & 0o7777, uid: entry.uid, gid: entry.gid, uname: entry.uname, gname: entry.gname, mtime: entry.mtime };
  if (entry.atime !== undefined) meta.atime = entry.atime;
  if (entry.ctime !== undefined) meta.ctime = entry.ctime;
  if (type === 'symlink' || type === 'hardlink') meta.linkTarget = entry.linkname;
  let extra: Record<string, string> | undefined;
  if (type === 'character-device' || type === 'block-device') (extra ??= {}).device = `${entry.devmajor},${entry.devminor}`;
  for (const records of [entry.globalPax, entry.pax]) {
    for (const [key, value] of records) if (!PAX_FIELDS.has(key)) (extra ??= {})[`pax ${key}`] = value;
  }
  if (extra !== undefined) meta.extra = extra;
  return meta;
}

const ENTRY_TYPES: Record<TarEntryType, EntryType> = {
  file: 'file',
  'contiguous-file': 'file',
  link: 'hardlink',
  symlink: 'symlink',
  'character-device': 'character-device',
  'block-device': 'block-device',
  directory: 'directory',
  fifo: 'fifo',
  unknown: 'other',
};
