import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import type { TreeManifest } from '../store/tree.js';
import type { Store } from '../store/types.js';
import { onSourceError } from './decompress.js';
import { asArchiveError, entryError } from './errors.js';
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
  // Pre-POSIX (v7) headers have no `ustar` magic; automake's `make dist` still writes them
  // (GNU hello 2.10's release tarball is one). The header checksum is checked all the same.
  // tar-stream reads the option but its bundled types do not declare it.
  const extract = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);
  onSourceError(source, (err) => extract.destroy(err));
  source.pipe(extract);
  try {
    for await (const entry of extract) {
      const header = entry.header;
      const name = header.name;
      switch (header.type) {
        case 'file':
        case 'contiguous-file': {
          // Check the name before any byte is stored: a hostile entry leaves nothing behind.
          if (builder.checkPath(name) === '') throw entryError('KILN_ARCHIVE_UNSAFE_ENTRY', label, name, 'would replace the root of the tree');
          const put = await store.putStream(Readable.from(entry, { objectMode: false }));
          builder.addFile(name, { digest: put.digest, size: put.size, mode: header.mode ?? 0o644 });
          continue;
        }
        case 'directory':
          builder.addDir(name);
          break;
        case 'symlink':
          builder.addSymlink(name, header.linkname ?? '');
          break;
        case 'link':
          builder.addHardlink(name, header.linkname ?? '');
          break;
        case 'character-device':
        case 'block-device':
        case 'fifo':
          builder.addSpecial(name, header.type);
          break;
        default:
          throw entryError('KILN_ARCHIVE_UNSUPPORTED', label, name, `has a tar entry type kiln does not read (${String(header.type)})`);
      }
      // Entries other than files may still carry bytes: drain them so the parser moves on.
      for await (const _ of entry) void _;
    }
  } catch (err) {
    source.unpipe(extract);
    source.destroy();
    throw asArchiveError(err, label, 'reading the tar stream');
  }
  return builder.finish();
}
