import { readAr } from '../archive/ar.js';
import type { Reader } from '../archive/reader.js';
import type { ContainerEntry, EntryStream } from './entries.js';
import { DiffError } from './errors.js';

/**
 * The members of an ar archive (a .deb: debian-binary, control.tar.*, data.tar.*) as kiln diff
 * compares them, read by the archive layer's ar reader: name, mtime, uid, gid and mode from
 * each header; bodies as bounded readers.
 */
export function arEntries(raw: Reader, label: string): EntryStream {
  const ar = readAr(raw, { label, corrupt: (message) => new DiffError('KILN_DIFF_CORRUPT', `${label}: ${message}`) });
  return {
    async next(): Promise<ContainerEntry | undefined> {
      const member = await ar.next();
      if (member === undefined) return undefined;
      return {
        name: member.name,
        meta: { type: 'file', mtime: member.mtime, uid: member.uid, gid: member.gid, mode: member.mode === undefined ? undefined : member.mode & 0o7777 },
        content: { size: member.size, reopenable: false, open: () => member.body },
      };
    },
  };
}
