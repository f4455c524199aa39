import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { comparePaths } from '../store/tree.js';
import type { Store } from '../store/types.js';
import { entryError } from './errors.js';
import { createTreeBuilder, type TreeBuilder } from './tree-builder.js';
import type { IngestedTree, IngestOptions } from './types.js';

/**
 * Reads a host folder into a tree. Symlinks are stored as links (never followed), so the walk
 * cannot leave the folder; sockets, devices and FIFOs are refused. Names are visited in byte
 * order so that the same folder always produces the same sequence of store writes.
 */
export async function ingestDirectory(store: Store, dir: string, options: IngestOptions): Promise<IngestedTree> {
  const { label } = options;
  const root = options.strip === undefined ? dir : join(dir, options.strip);
  const rootStat = await lstat(root).catch((err: unknown) => {
    throw entryError('KILN_ARCHIVE_UNSUPPORTED', label, root, 'cannot be read', { cause: err });
  });
  if (!rootStat.isDirectory()) throw entryError('KILN_ARCHIVE_UNSUPPORTED', label, root, 'is not a folder');
  const builder = createTreeBuilder({ label, links: options.links });
  await walk(store, builder, root, '', label);
  const manifest = builder.finish();
  return { manifest, digest: await store.putTree(manifest) };
}

async function walk(store: Store, builder: TreeBuilder, root: string, rel: string, label: string): Promise<void> {
  const names = (await readdir(join(root, rel))).sort(comparePaths);
  for (const name of names) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const abs = join(root, path);
    const stat = await lstat(abs);
    if (stat.isSymbolicLink()) {
      builder.addSymlink(path, await readlink(abs));
    } else if (stat.isDirectory()) {
      builder.addDir(path);
      await walk(store, builder, root, path, label);
    } else if (stat.isFile()) {
      builder.checkPath(path);
      const put = await store.putFile(abs);
      builder.addFile(path, { digest: put.digest, size: put.size, mode: stat.mode });
    } else {
      const kind = stat.isSocket() ? 'socket' : stat.isFIFO() ? 'FIFO' : 'device node';
      throw entryError('KILN_ARCHIVE_UNSAFE_ENTRY', label, path, `is a ${kind}; a tree holds only files, folders and links`);
    }
  }
}
