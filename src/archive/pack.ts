import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { comparePaths, type TreeEntry, type TreeManifest } from '../store/tree.js';
import type { Store } from '../store/types.js';
import type { Digest } from '../util/digest.js';
import { ArchiveError } from './errors.js';
import type { PackLayer, PackOptions } from './types.js';

/** What `pack.entry` takes: a header with at least a name. */
export type TarHeader = Partial<tar.Header> & Pick<tar.Header, 'name'>;

/** One tar member as planned: everything the header holds, decided before any byte is written. */
export type PackEntry =
  | { path: string; type: 'file'; mode: number; uid: number; gid: number; digest: Digest; size: number }
  | { path: string; type: 'dir'; mode: number; uid: number; gid: number }
  | { path: string; type: 'symlink'; mode: number; uid: number; gid: number; target: string };

/** Files up to this size are read in one piece rather than streamed, a few ahead of the writer. */
const WHOLE_READ_BYTES = 1 << 20;
const READ_AHEAD_FILES = 16;
const READ_AHEAD_BYTES = 16 << 20;

/** Symlink permission bits are ignored by Linux; 0777 is what lstat reports and tar writes. */
const SYMLINK_MODE = 0o777;

function normalizePrefix(prefix: string): string {
  const parts = prefix.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new ArchiveError('KILN_ARCHIVE_UNSAFE_ENTRY', `pack: layer prefix ${JSON.stringify(prefix)} climbs out with ..`);
  return parts.join('/');
}

function join(prefix: string, path: string): string {
  return prefix === '' ? path : `${prefix}/${path}`;
}

function parentOf(path: string): string {
  const at = path.lastIndexOf('/');
  return at === -1 ? '' : path.slice(0, at);
}

/**
 * The members of the tar for a container's `/`, pure: later layers replace earlier entries of
 * the same path; parents of a prefix that no layer provides are folders owned by root, 0755.
 * Sorted by path, so the tar is the same whatever order the layers' trees were built in.
 */
export function planPack(layers: PackLayer[]): PackEntry[] {
  const planned = new Map<string, PackEntry>();
  const implicit = (path: string) => {
    for (let p = parentOf(path); p !== '' && !planned.has(p); p = parentOf(p)) {
      planned.set(p, { path: p, type: 'dir', mode: 0o755, uid: 0, gid: 0 });
    }
  };
  for (const layer of layers) {
    const prefix = normalizePrefix(layer.prefix);
    const { uid, gid, readOnly } = layer;
    const dirMode = readOnly ? 0o555 : 0o755;
    const add = (entry: PackEntry) => {
      if (entry.path === '') {
        if (entry.type === 'dir') return; // the root itself: the container has one
        throw new ArchiveError('KILN_ARCHIVE_CONFLICT', `pack: a ${entry.type} cannot be placed at the root`);
      }
      implicit(entry.path);
      planned.set(entry.path, entry);
    };
    const source = layer.source;
    switch (source.kind) {
      case 'tree':
        add({ path: prefix, type: 'dir', mode: dirMode, uid, gid });
        for (const e of source.manifest.entries) {
          const path = join(prefix, e.path);
          switch (e.type) {
            case 'file':
              add({ path, type: 'file', mode: readOnly ? e.mode & 0o555 : e.mode, uid, gid, digest: e.digest, size: e.size });
              break;
            case 'dir':
              add({ path, type: 'dir', mode: dirMode, uid, gid });
              break;
            case 'symlink':
              add({ path, type: 'symlink', mode: SYMLINK_MODE, uid, gid, target: e.target });
              break;
          }
        }
        break;
      case 'file': {
        const mode = source.executable ? 0o755 : 0o644;
        add({ path: prefix, type: 'file', mode: readOnly ? mode & 0o555 : mode, uid, gid, digest: source.digest, size: source.size });
        break;
      }
      case 'dir':
        add({ path: prefix, type: 'dir', mode: source.mode & 0o7777, uid, gid });
        break;
    }
  }
  const entries = [...planned.values()].sort((a, b) => comparePaths(a.path, b.path));
  for (const entry of entries) {
    const parent = parentOf(entry.path);
    if (parent !== '' && planned.get(parent)?.type !== 'dir') {
      throw new ArchiveError('KILN_ARCHIVE_CONFLICT', `pack: ${JSON.stringify(entry.path)} would be placed under ${JSON.stringify(parent)}, which is not a folder`, {
        entry: entry.path,
      });
    }
  }
  return entries;
}

/**
 * One deterministic tar stream for a container's `/`: members sorted by path, every mtime
 * `options.mtime`, empty user and group names, normalized modes, no pax time records (tar-stream
 * writes pax only for long or non-ASCII names). File bytes are streamed from the store one
 * member at a time. The same layers always give the same bytes.
 */
export function packLayers(store: Store, layers: PackLayer[], options: PackOptions): Readable {
  const pack = tar.pack();
  // Byte mode, not Readable.from's default object mode: consumers pipe it into sockets and zlib.
  const out = Readable.from(pack, { objectMode: false });
  let entries: PackEntry[];
  try {
    entries = planPack(layers);
  } catch (err) {
    out.destroy(err as Error);
    return out;
  }
  writeEntries(store, pack, entries, options.mtime).catch((err: unknown) => pack.destroy(err as Error));
  return out;
}

/** A tree as a tar with the tree's root as the tar's root (owner 0:0, modes 0644/0755). */
export function writeTreeTar(store: Store, manifest: TreeManifest, options: { mtime: number }): Readable {
  return packLayers(store, [{ prefix: '', source: { kind: 'tree', manifest }, uid: 0, gid: 0, readOnly: false }], options);
}

async function writeEntries(store: Store, pack: tar.Pack, entries: PackEntry[], mtime: number): Promise<void> {
  const date = new Date(mtime * 1000);
  const ahead = readAhead(store, entries);
  try {
    for (const [i, entry] of entries.entries()) {
      const header = packHeader(entry, date);
      if (entry.type !== 'file') await writeMember(pack, header);
      else if (entry.size <= WHOLE_READ_BYTES) await writeMember(pack, header, [await ahead.take(i)]);
      else await writeMember(pack, header, store.openBlob(entry.digest));
    }
  } finally {
    ahead.stop();
  }
  pack.finalize();
}

/** The tar header of a planned member: no user or group names, one mtime, no pax time records. */
export function packHeader(entry: PackEntry, date: Date): TarHeader {
  const header: TarHeader = {
    name: entry.type === 'dir' ? `${entry.path}/` : entry.path,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    mtime: date,
    uname: '',
    gname: '',
    type: entry.type === 'dir' ? 'directory' : entry.type,
    size: entry.type === 'file' ? entry.size : 0,
  };
  if (entry.type === 'symlink') header.linkname = entry.target;
  return header;
}

/** A tree entry as `writeTreeTar` packs it: owned by root, files 0644 or 0755, folders 0755. */
export function treePackEntry(entry: TreeEntry): PackEntry {
  switch (entry.type) {
    case 'file':
      return { path: entry.path, type: 'file', mode: entry.mode, uid: 0, gid: 0, digest: entry.digest, size: entry.size };
    case 'dir':
      return { path: entry.path, type: 'dir', mode: 0o755, uid: 0, gid: 0 };
    case 'symlink':
      return { path: entry.path, type: 'symlink', mode: SYMLINK_MODE, uid: 0, gid: 0, target: entry.target };
  }
}

/**
 * Small files are read whole (verified as any read) and a few ahead of the writer: a stream
 * per file costs a 1 MiB read buffer, one read at a time leaves the disk idle between files,
 * and a root filesystem has ten thousand of them. At most READ_AHEAD_FILES and
 * READ_AHEAD_BYTES are held.
 */
function readAhead(store: Store, entries: PackEntry[]): { take(index: number): Promise<Buffer>; stop(): void } {
  const small = entries.flatMap((e, i) => (e.type === 'file' && e.size <= WHOLE_READ_BYTES ? [i] : []));
  const pending = new Map<number, Promise<Buffer>>();
  let next = 0;
  let held = 0;
  const fill = (): void => {
    while (next < small.length && pending.size < READ_AHEAD_FILES && held < READ_AHEAD_BYTES) {
      const i = small[next++]!;
      const entry = entries[i] as Extract<PackEntry, { type: 'file' }>;
      const read = store.readBlob(entry.digest);
      read.catch(() => {}); // reported when taken
      pending.set(i, read);
      held += entry.size;
    }
  };
  return {
    async take(index) {
      fill();
      const read = pending.get(index)!;
      pending.delete(index);
      held -= (entries[index] as Extract<PackEntry, { type: 'file' }>).size;
      const data = await read;
      fill();
      return data;
    },
    stop() {
      next = small.length;
      pending.clear();
    },
  };
}

/** Writes one member into a tar-stream pack, streaming `body` with backpressure. */
export async function writeMember(pack: tar.Pack, header: TarHeader, body?: AsyncIterable<unknown> | Iterable<unknown>): Promise<void> {
  let sink!: ReturnType<tar.Pack['entry']>;
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
  // Failures reach us through the entry callback; the sink's own 'error' event would be unhandled.
  sink.on('error', () => {});
  if (body !== undefined) {
    const closed = new Promise<'closed'>((resolve) => sink.once('close', () => resolve('closed')));
    try {
      for await (const chunk of body) {
        if (!sink.write(chunk as Buffer)) {
          const waited = await Promise.race([new Promise<'drain'>((resolve) => sink.once('drain', () => resolve('drain'))), closed]);
          if (waited === 'closed') throw new Error('tar stream closed while a member was written');
        }
      }
    } catch (err) {
      sink.destroy(err as Error);
      await done.catch(() => {});
      throw err;
    }
    sink.end(undefined);
  }
  await done;
}
