import type { Readable } from 'node:stream';
import type { TreeManifest } from '../store/tree.js';
import type { Store } from '../store/types.js';
import { asArchiveError, entryError } from './errors.js';
import { Reader, toReadable } from './reader.js';
import { readTar } from './tar.js';
import { createTreeBuilder, type TreeBuilderOptions } from './tree-builder.js';
import type { IngestedTree, IngestOptions } from './types.js';

/**
 * Reads a tar stream into the store: every file's bytes go straight to `store.putStream`
 * (never buffered whole), the entries through the tree builder's safety rules, and the
 * manifest into the store. Nothing is written to any filesystem but the store's own.
 */
export async function ingestTar(store: Store, source: Readable, options: IngestOptions): Promise<IngestedTree> {
  const manifest = await readTarEntries(store, source, options);
  return { manifest, digest: await store.putTree(manifest) };
}

/** The tar-reading core shared by `ingestTar` and `unpackArchive` (which adds the .deb rules). */
export async function readTarEntries(store: Store, source: Readable, options: TreeBuilderOptions): Promise<TreeManifest> {
  const { label } = options;
  const builder = createTreeBuilder(options);
  const raw = Reader.fromStream(source);
  try {
    const tar = readTar(raw, { label });
    for (let entry = await tar.next(); entry !== undefined; entry = await tar.next()) {
      const name = entry.name;
      switch (entry.type) {
        case 'file':
        case 'contiguous-file': {
          // Check the name before any byte is stored: a hostile entry leaves nothing behind.
          if (builder.checkPath(name) === '') throw entryError('KILN_ARCHIVE_UNSAFE_ENTRY', label, name, 'would replace the root of the tree');
          const put = await store.putStream(toReadable(entry.body));
          builder.addFile(name, { digest: put.digest, size: put.size, mode: entry.mode });
          break;
        }
        case 'directory':
          builder.addDir(name);
          break;
        case 'symlink':
          builder.addSymlink(name, entry.linkname);
          break;
        case 'link':
          builder.addHardlink(name, entry.linkname);
          break;
        case 'character-device':
        case 'block-device':
        case 'fifo':
          builder.addSpecial(name, entry.type);
          break;
        case 'unknown':
          throw entryError('KILN_ARCHIVE_UNSUPPORTED', label, name, `has a tar entry type kiln does not read (typeflag ${JSON.stringify(entry.typeflag)})`);
      }
    }
    // What follows the end of the archive (GNU tar pads to 10 KiB records) is read, not used:
    // a decompressor feeding `source` must be able to finish, and a store blob to verify.
    await raw.drain();
  } catch (err) {
    // Destroying the source also settles a read still pending on it (a body the store gave up on).
    source.destroy();
    throw asArchiveError(err, label, 'reading the tar stream');
  }
  return builder.finish();
}
