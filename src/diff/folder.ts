import { createReadStream, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerEntry, EntryMeta, Source } from './entries.js';
import { Reader } from './reader.js';
import type { EntryType } from './types.js';

/** Read size for files: 1 MiB chunks, the speed of memcmp and hashing (64 KiB halves it). */
const CHUNK = 1 << 20;

/**
 * Every entry under `root` (not `root` itself), depth first with names sorted: relative
 * paths with `/`, their lstat metadata, files as re-readable sources. Symlinks are not
 * followed: their target is compared as text.
 */
export async function listFolder(root: string): Promise<ContainerEntry[]> {
  const entries: ContainerEntry[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const full = join(dir, name);
      const rel = prefix === '' ? name : `${prefix}/${name}`;
      const stat = await lstat(full);
      const meta = statMeta(stat);
      if (meta.type === 'symlink') meta.linkTarget = await readlink(full);
      const entry: ContainerEntry = { name: rel, meta };
      if (meta.type === 'file') entry.content = fileSource(full, stat.size);
      entries.push(entry);
      if (meta.type === 'directory') await walk(full, rel);
    }
  };
  await walk(root, '');
  return entries;
}

export function statMeta(stat: Stats): EntryMeta {
  return { type: statType(stat), mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, mtime: stat.mtimeMs / 1000 };
}

function statType(stat: Stats): EntryType {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'directory';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isFIFO()) return 'fifo';
  if (stat.isCharacterDevice()) return 'character-device';
  if (stat.isBlockDevice()) return 'block-device';
  if (stat.isSocket()) return 'socket';
  return 'other';
}

/** A byte range of a file (the whole file by default) as a re-readable source. */
export function fileSource(path: string, size: number, offset = 0, digest?: string): Source {
  return {
    size,
    reopenable: true,
    file: { path, offset, size },
    ...(digest !== undefined && { digest }),
    open: () => (size === 0 ? Reader.fromBuffer(Buffer.alloc(0)) : Reader.fromStream(createReadStream(path, { start: offset, end: offset + size - 1, highWaterMark: CHUNK }))),
  };
}

/** A file that cannot be re-read or sized beforehand (a pipe, `<(command)`). */
export function streamSource(path: string): Source {
  return { reopenable: false, open: () => Reader.fromStream(createReadStream(path, { highWaterMark: CHUNK })) };
}
