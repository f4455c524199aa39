import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Every file below `dir`, as sorted paths relative to it (what a test leaves behind). */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

/** Files under the store's blob area. */
export async function listBlobs(root: string): Promise<string[]> {
  return listFiles(join(root, 'v1', 'cas'));
}

export async function listTemps(root: string): Promise<string[]> {
  return listFiles(join(root, 'v1', 'tmp'));
}
