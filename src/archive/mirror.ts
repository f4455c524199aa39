import type * as tar from 'tar-stream';
import type { TreeEntry } from '../store/tree.js';
import type { Store } from '../store/types.js';
import type { Digest } from '../util/digest.js';
import { packHeader, treePackEntry, writeMember } from './pack.js';

/**
 * A second tar written while one is ingested: each entry the tree takes, as `writeTreeTar`
 * writes it (owned by root, files 0644 or 0755, folders 0755, one mtime, a hard link as a copy
 * of its file), in the order of the archive read. Extracting it gives the same files as
 * extracting `writeTreeTar` of the tree. The Docker engine imports an assembled debian image
 * from it while the output is read back, instead of packing the tree again afterwards.
 */
export interface TarMirror {
  pack: tar.Pack;
  mtime: number;
}

/** The file contents a mirror needs, once the ingest stored them. */
export interface MirrorSource {
  /** Resolves once the blob is in the store (a small file is stored in the background). */
  stored(digest: Digest): Promise<void>;
}

/**
 * Writes ingested entries into a mirror; `bytes` saves reading back a file the ingest holds in
 * memory. A folder the archive only implies is written before its first entry, as the tree
 * lists it: an extractor would otherwise create it with its own mode and the current time.
 */
export class MirrorWriter {
  private readonly date: Date;
  private readonly folders = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly mirror: TarMirror,
    private readonly source: MirrorSource,
  ) {
    this.date = new Date(mirror.mtime * 1000);
  }

  /** The folders above `path` not written yet (a skipped device node still implies its folder). */
  async parents(path: string): Promise<void> {
    for (let cut = path.indexOf('/'); cut > 0; cut = path.indexOf('/', cut + 1)) {
      const parent = path.slice(0, cut);
      if (this.folders.has(parent)) continue;
      this.folders.add(parent);
      await writeMember(this.mirror.pack, packHeader(treePackEntry({ path: parent, type: 'dir' }), this.date));
    }
  }

  async add(entry: TreeEntry, bytes?: Buffer): Promise<void> {
    if (entry.path === '') return; // the root: the image has one
    await this.parents(entry.path);
    if (entry.type === 'dir') this.folders.add(entry.path);
    const header = packHeader(treePackEntry(entry), this.date);
    if (entry.type !== 'file') return writeMember(this.mirror.pack, header);
    if (bytes !== undefined) return writeMember(this.mirror.pack, header, [bytes]);
    await this.source.stored(entry.digest);
    return writeMember(this.mirror.pack, header, this.store.openBlob(entry.digest));
  }
}
