import type { TreeManifest } from '../store/tree.js';
import type { Store } from '../store/types.js';
import { asArchiveError, entryError } from './errors.js';
import type { RangeSource } from './range.js';
import { createTreeBuilder, type SpecialKind, type TreeBuilderOptions } from './tree-builder.js';
import { openZip, type ZipArchive } from './zip.js';

/** Reads a zip into the store through the tree builder's safety rules (random access: the directory is at the end). */
export async function readZipEntries(store: Store, file: RangeSource, options: TreeBuilderOptions): Promise<TreeManifest> {
  const { label } = options;
  const builder = createTreeBuilder(options);
  let zip: ZipArchive | undefined;
  try {
    zip = await openZip(file);
    for await (const entry of zip.entries()) {
      const name = entry.name;
      if (/^[A-Za-z]:/.test(name)) throw entryError('KILN_ARCHIVE_UNSAFE_ENTRY', label, name, 'is an absolute (drive-letter) path');
      switch (entry.type) {
        case 'directory':
          builder.addDir(name);
          continue;
        case 'file':
        case 'symlink':
          break;
        default:
          // A kind the directory names but no tree holds: refused in inputs, skipped in root filesystems.
          builder.addSpecial(name, entry.type === 'other' ? 'socket' : (entry.type as SpecialKind));
          continue;
      }
      if (entry.encrypted) throw entryError('KILN_ARCHIVE_UNSUPPORTED', label, name, 'is encrypted');
      if (!entry.decodable) {
        throw entryError('KILN_ARCHIVE_UNSUPPORTED', label, name, `uses zip compression method ${entry.compressionMethod}; kiln reads stored and deflated entries`);
      }
      if (builder.checkPath(name) === '') throw entryError('KILN_ARCHIVE_UNSAFE_ENTRY', label, name, 'would replace the root of the tree');
      if (entry.type === 'symlink') {
        const target = await zip.readLinkTarget(entry);
        if (target === undefined) throw entryError('KILN_ARCHIVE_CORRUPT', label, name, 'is a symlink with an over-long target');
        builder.addSymlink(name, target);
        continue;
      }
      const put = await store.putStream(await zip.openEntry(entry));
      builder.addFile(name, { digest: put.digest, size: put.size, mode: entry.mode ?? 0 });
    }
  } catch (err) {
    throw asArchiveError(err, label, 'reading the zip archive');
  } finally {
    zip?.close();
  }
  return builder.finish();
}
