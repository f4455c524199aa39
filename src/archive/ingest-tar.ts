import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { TreeManifest } from '../store/tree.js';
import type { Store } from '../store/types.js';
import { asArchiveError, entryError } from './errors.js';
import { MirrorWriter, type MirrorSource, type TarMirror } from './mirror.js';
import { Reader, toReadable } from './reader.js';
import { readTar } from './tar.js';
import { createTreeBuilder, fileMode, type TreeBuilderOptions } from './tree-builder.js';
import type { IngestedTree, IngestOptions } from './types.js';
import type { Digest } from '../util/digest.js';

/**
 * Reads a tar stream into the store: every file's bytes go straight to `store.putStream`
 * (never buffered whole), the entries through the tree builder's safety rules, and the
 * manifest into the store. Nothing is written to any filesystem but the store's own.
 */
export async function ingestTar(store: Store, source: Readable, options: IngestOptions): Promise<IngestedTree> {
  const manifest = await readTarEntries(store, source, options);
  return { manifest, digest: await store.putTree(manifest) };
}

/** How entries are read besides being stored. */
export interface ReadTarMode {
  /** Written as the entries are read (`TarMirror`); not finalized here. */
  mirror?: TarMirror;
}

/** Files up to this size are read whole and stored while the next entries are read. */
const SMALL_FILE_BYTES = 1 << 20;
/** Small files being stored at once, and the bytes they may hold. */
const PENDING_WRITES = 16;
const PENDING_BYTES = 16 << 20;

/**
 * The tar-reading core shared by `ingestTar` and `unpackArchive` (which adds the .deb rules).
 * A small file's bytes are hashed as soon as they are read, so the tree builder has its entry
 * at once, and stored in the background, a few at a time: the stream is never held up by the
 * store's per-file work (ten thousand files in a root filesystem). Large files stream into the
 * store. Every write has finished, or the first failure is thrown, before the manifest returns.
 */
export async function readTarEntries(store: Store, source: Readable, options: TreeBuilderOptions & ReadTarMode): Promise<TreeManifest> {
  const { label } = options;
  const builder = createTreeBuilder(options);
  const writes = new WriteWindow();
  const mirror = options.mirror && new MirrorWriter(store, options.mirror, writes);
  const raw = Reader.fromStream(source);
  try {
    const tar = readTar(raw, { label });
    for (let entry = await tar.next(); entry !== undefined; entry = await tar.next()) {
      const name = entry.name;
      switch (entry.type) {
        case 'file':
        case 'contiguous-file': {
          // Check the name before any byte is stored: a hostile entry leaves nothing behind.
          const path = builder.checkPath(name);
          if (path === '') throw entryError('KILN_ARCHIVE_UNSAFE_ENTRY', label, name, 'would replace the root of the tree');
          const mode = fileMode(entry.mode);
          if (entry.size <= SMALL_FILE_BYTES) {
            // A copy: the reader may hand out a view of a buffer it reuses, and the write is later.
            const bytes = Buffer.from(await entry.body.read(entry.size));
            const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as const;
            builder.addFile(name, { digest, size: bytes.length, mode });
            await writes.add(digest, bytes.length, () => store.putBytes(bytes, { digest }));
            await mirror?.add({ path, type: 'file', mode, digest, size: bytes.length }, bytes);
            break;
          }
          const put = await store.putStream(toReadable(entry.body));
          builder.addFile(name, { digest: put.digest, size: put.size, mode });
          await mirror?.add({ path, type: 'file', mode, digest: put.digest, size: put.size });
          break;
        }
        case 'directory':
          builder.addDir(name);
          await mirror?.add({ path: builder.checkPath(name), type: 'dir' });
          break;
        case 'symlink':
          builder.addSymlink(name, entry.linkname);
          await mirror?.add({ path: builder.checkPath(name), type: 'symlink', target: entry.linkname });
          break;
        case 'link': {
          const placed = builder.addHardlink(name, entry.linkname);
          await mirror?.add(placed);
          break;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo':
          builder.addSpecial(name, entry.type);
          await mirror?.parents(builder.checkPath(name));
          break;
        case 'unknown':
          throw entryError('KILN_ARCHIVE_UNSUPPORTED', label, name, `has a tar entry type kiln does not read (typeflag ${JSON.stringify(entry.typeflag)})`);
      }
    }
    await writes.drain();
    // What follows the end of the archive (GNU tar pads to 10 KiB records) is read, not used:
    // a decompressor feeding `source` must be able to finish, and a store blob to verify.
    await raw.drain();
  } catch (err) {
    // Destroying the source also settles a read still pending on it (a body the store gave up on).
    source.destroy();
    await writes.drain().catch(() => undefined);
    throw asArchiveError(err, label, 'reading the tar stream');
  }
  return builder.finish();
}

/** Background store writes, at most PENDING_WRITES / PENDING_BYTES at once; the first failure is rethrown. */
class WriteWindow implements MirrorSource {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly byDigest = new Map<Digest, Promise<unknown>>();
  private bytes = 0;
  private failure: unknown;

  /** Resolves once a write of `digest` under way has finished (at once when none is). */
  async stored(digest: Digest): Promise<void> {
    await this.byDigest.get(digest);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Starts a write once there is room; throws an earlier write's failure. */
  async add(digest: Digest, size: number, write: () => Promise<unknown>): Promise<void> {
    while (this.pending.size >= PENDING_WRITES || (this.bytes + size > PENDING_BYTES && this.pending.size > 0)) {
      await Promise.race(this.pending);
    }
    if (this.failure !== undefined) throw this.failure;
    this.bytes += size;
    const done: Promise<unknown> = write().then(
      () => undefined,
      (err: unknown) => {
        this.failure ??= err;
      },
    ).finally(() => {
      this.bytes -= size;
      this.pending.delete(done);
      if (this.byDigest.get(digest) === done) this.byDigest.delete(digest);
    });
    this.pending.add(done);
    this.byDigest.set(digest, done);
  }

  /** Waits for every write; throws the first failure. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.race(this.pending);
    if (this.failure !== undefined) throw this.failure;
  }
}
