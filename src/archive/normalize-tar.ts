import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { comparePaths } from '../store/tree.js';
import { ArchiveError } from './errors.js';
import { writeMember, type TarHeader } from './pack.js';
import { Reader } from './reader.js';
import { readTar, type TarEntryType } from './tar.js';

type MemberType = Exclude<TarEntryType, 'unknown'>;

/** One member of a tar, as indexed: its header and where its bytes sit in the file. */
export interface TarMember {
  name: string;
  type: MemberType;
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  size: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Offset of the member's data in the tar file. */
  offset: number;
}

/**
 * Indexes a tar (a stream over the same bytes as the file later read at random). Undefined if
 * the stream is not a tar kiln can rewrite without changing content: corrupt, a member type it
 * does not know, sparse members, names that are not UTF-8, or anything but zeros after the
 * end of the archive (a rewrite would drop it).
 */
export async function indexTar(source: Readable): Promise<TarMember[] | undefined> {
  const raw = Reader.fromStream(source);
  const members: TarMember[] = [];
  try {
    const tar = readTar(raw, { label: 'normalize' });
    for (let entry = await tar.next(); entry !== undefined; entry = await tar.next()) {
      const sparse = [...entry.pax.keys(), ...entry.globalPax.keys()].some((key) => key.startsWith('GNU.sparse'));
      const text = `${entry.name}\0${entry.linkname}`;
      if (entry.type === 'unknown' || sparse || text.includes('\uFFFD')) return undefined;
      members.push({
        name: entry.name,
        type: entry.type,
        mode: entry.mode,
        mtime: Math.floor(entry.mtime),
        size: entry.size,
        linkname: entry.linkname,
        devmajor: entry.devmajor,
        devminor: entry.devminor,
        offset: entry.offset,
      });
    }
    for (let c = await raw.next(); c !== null; c = await raw.next()) if (!isZeros(c)) return undefined;
  } catch (err) {
    if (err instanceof ArchiveError && err.code === 'KILN_ARCHIVE_CORRUPT') return undefined;
    // Store errors (a blob that fails verification) are not "not a tar": they go up.
    if ((err as { code?: unknown }).code?.toString().startsWith('KILN_')) throw err;
    return undefined;
  } finally {
    source.destroy();
  }
  return members;
}

function isZeros(chunk: Buffer): boolean {
  for (let i = 0; i < chunk.length; i++) if (chunk[i] !== 0) return false;
  return true;
}

/** A member as it will be written: `dataFrom` is the member whose bytes it carries. */
export interface CanonicalMember {
  header: TarHeader;
  data?: { offset: number; size: number };
}

function fileMode(mode: number): number {
  return (mode & 0o111) !== 0 ? 0o755 : 0o644;
}

/**
 * The canonical form of a tar's members, pure: sorted by name (stable, so repeated names keep
 * tar's "last one wins"), mtime clamped to SOURCE_DATE_EPOCH, owner 0:0 without names, modes
 * 0644/0755 (dirs 0755, symlinks 0777). Sorting can put a hard link before the file it names,
 * so each group of hard-linked names is rewritten: the first name in order carries the bytes
 * and the others link to it. Same names, same content, same links; only the order moves.
 */
export function planCanonicalTar(members: TarMember[], sourceDateEpoch: number): CanonicalMember[] {
  // Which original member holds the bytes behind each member (itself for files, the linked file for hard links).
  const dataOwner = new Map<number, number>();
  const latestByName = new Map<string, number>();
  members.forEach((m, i) => {
    if (m.type === 'link') {
      const target = latestByName.get(m.linkname);
      if (target !== undefined) {
        const owner = dataOwner.get(target);
        if (owner !== undefined) dataOwner.set(i, owner);
      }
    } else if (m.type === 'file' || m.type === 'contiguous-file') {
      dataOwner.set(i, i);
    }
    latestByName.set(m.name, i);
  });

  const order = members.map((_, i) => i).sort((a, b) => comparePaths((members[a] as TarMember).name, (members[b] as TarMember).name) || a - b);
  const carrierOf = new Map<number, string>(); // data owner -> name of the member that carries the bytes
  return order.map((i) => {
    const m = members[i] as TarMember;
    const base = {
      name: m.name,
      uid: 0,
      gid: 0,
      uname: '',
      gname: '',
      mtime: new Date(Math.max(0, Math.min(m.mtime, sourceDateEpoch)) * 1000),
    };
    const owner = dataOwner.get(i);
    if (owner !== undefined) {
      const file = members[owner] as TarMember;
      const carrier = carrierOf.get(owner);
      if (carrier === undefined) {
        carrierOf.set(owner, m.name);
        return {
          header: { ...base, type: file.type === 'contiguous-file' ? 'contiguous-file' : 'file', mode: fileMode(file.mode), size: file.size },
          data: { offset: file.offset, size: file.size },
        };
      }
      return { header: { ...base, type: 'link', mode: fileMode(file.mode), size: 0, linkname: carrier } };
    }
    switch (m.type) {
      case 'directory':
        return { header: { ...base, type: 'directory', mode: 0o755, size: 0 } };
      case 'symlink':
        return { header: { ...base, type: 'symlink', mode: 0o777, size: 0, linkname: m.linkname } };
      case 'link': // a link to nothing earlier: kept as written
        return { header: { ...base, type: 'link', mode: fileMode(m.mode), size: 0, linkname: m.linkname } };
      default:
        return { header: { ...base, type: m.type, mode: fileMode(m.mode), size: 0, devmajor: m.devmajor, devminor: m.devminor } };
    }
  });
}

/** Bytes `[start, end)` of the archive being rewritten: a store blob or a temp file. */
export type RangeReader = (start: number, end: number) => Readable;

/** Writes the canonical tar, streaming each member's bytes from the source tar at its offset. */
export function writeCanonicalTar(read: RangeReader, members: CanonicalMember[]): Readable {
  const pack = tar.pack();
  // Byte mode, not Readable.from's default object mode: consumers pipe it into sockets and zlib.
  const out = Readable.from(pack, { objectMode: false });
  (async () => {
    for (const member of members) {
      const data = member.data;
      const body = data === undefined ? undefined : data.size === 0 ? [] : read(data.offset, data.offset + data.size);
      await writeMember(pack, member.header, body);
    }
    pack.finalize();
  })().catch((err: unknown) => pack.destroy(err as Error));
  return out;
}
