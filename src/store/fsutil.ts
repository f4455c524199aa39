import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tmpDir } from './path.js';

export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Entries of a folder; a missing folder has none. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

export interface FileInfo {
  path: string;
  size: number;
  mtimeMs: number;
}

/** Files exactly two levels below `dir` (`<dir>/<a>/<b>`), with size and mtime; vanished ones are skipped. */
export async function* listTwoLevels(dir: string): AsyncGenerator<FileInfo & { parent: string; name: string }> {
  for (const parent of await listDir(dir)) {
    for (const name of await listDir(join(dir, parent))) {
      const path = join(dir, parent, name);
      const info = await stat(path).catch((err) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      if (info?.isFile()) yield { path, parent, name, size: info.size, mtimeMs: info.mtimeMs };
    }
  }
}

/** Files directly in `dir`. */
export async function* listOneLevel(dir: string): AsyncGenerator<FileInfo & { name: string }> {
  for (const name of await listDir(dir)) {
    const path = join(dir, name);
    const info = await stat(path).catch((err) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (info?.isFile()) yield { path, name, size: info.size, mtimeMs: info.mtimeMs };
  }
}

/** Removes a file; one that is already gone counts as removed by someone else (false). */
export async function removeFile(path: string): Promise<boolean> {
  try {
    await rm(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Marks a record as used now (gc keeps records by mtime). Best effort: a race with gc is harmless. */
export async function touch(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now).catch(() => undefined);
}

/**
 * Small-file write with the blob discipline: a unique 'wx' temp in the store, then rename, so
 * readers see the old record or the new one, never a torn one.
 */
export async function writeFileAtomic(root: string, dest: string, text: string): Promise<void> {
  const temp = join(tmpDir(root), `${process.pid}-${randomBytes(8).toString('hex')}`);
  try {
    await mkdir(tmpDir(root), { recursive: true });
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
    await mkdir(dirname(dest), { recursive: true });
    await rename(temp, dest);
  } finally {
    await rm(temp, { force: true });
  }
}
