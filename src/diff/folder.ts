import { createReadStream, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerEntry, EntryMeta, Source } from './entries.js';
import { DiffError } from './errors.js';
import { Reader } from '../archive/reader.js';
import type { EntryType } from './types.js';

/** Read size for streams that are not files (pipes). */
const CHUNK = 1 << 20;
/** Buffers a file reader cycles through, and their size: 1 MiB per open file, allocated once. */
const POOL = 4;
const POOL_CHUNK = 256 * 1024;

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
    open: () => (size === 0 ? Reader.fromBuffer(Buffer.alloc(0)) : fileReader(path, offset, size)),
  };
}

/**
 * Reads a byte range of a file into a small ring of buffers allocated once. Fresh buffers per
 * read (what fs streams do) leave tens of MiB of dead memory between two garbage collections
 * of a long comparison; a ring keeps the reader's memory at POOL × POOL_CHUNK.
 * Contract: a chunk stays valid until POOL - 1 further reads of the same reader. Every
 * consumer in kiln diff is done with a chunk before its next read, or copies it (pump).
 */
function fileReader(path: string, offset: number, size: number): Reader {
  let handle: FileHandle | undefined;
  let position = offset;
  const end = offset + size;
  const ring: Buffer[] = [];
  let turn = 0;
  const release = async () => {
    const h = handle;
    handle = undefined;
    await h?.close();
  };
  return new Reader(async () => {
    if (position >= end) {
      await release();
      return null;
    }
    handle ??= await open(path, 'r');
    const slot = turn++ % POOL;
    const want = Math.min(POOL_CHUNK, end - position);
    // A small file gets a small buffer: a folder of many small files must not cost 256 KiB each.
    if (ring[slot] === undefined || ring[slot]!.length < want) ring[slot] = Buffer.allocUnsafe(want);
    const { bytesRead } = await handle.read(ring[slot]!, 0, want, position);
    if (bytesRead === 0) {
      await release();
      throw new DiffError('KILN_DIFF_UNREADABLE', `${path}: the file shrank while being read`);
    }
    position += bytesRead;
    return ring[slot]!.subarray(0, bytesRead);
  }, release);
}

/** A file that cannot be re-read or sized beforehand (a pipe, `<(command)`). */
export function streamSource(path: string): Source {
  return { reopenable: false, open: () => Reader.fromStream(createReadStream(path, { highWaterMark: CHUNK })) };
}
