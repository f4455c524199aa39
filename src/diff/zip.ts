import type { Readable } from 'node:stream';
import { openFileRange } from '../archive/range.js';
import { Reader } from '../archive/reader.js';
import { openZip, type ZipArchive, type ZipEntry } from '../archive/zip.js';
import type { ContainerEntry, EntryMeta } from './entries.js';
import { DiffError } from './errors.js';

export interface ZipListing {
  entries: ContainerEntry[];
  /** The archive comment (latin1), or '' . */
  comment: string;
  close(): Promise<void>;
}

/**
 * Lists a zip (or jar) lying at `file.offset` in a file, by the archive layer's zip reader:
 * every entry's metadata from the central directory (kept in memory: headers only), contents
 * opened on demand, decompressed, any number of times. Names are read raw: hostile names are
 * data to compare, not to refuse.
 */
export async function listZip(file: { path: string; offset: number; size: number }, label: string): Promise<ZipListing> {
  const source = await openFileRange(file.path, file);
  let zip: ZipArchive | undefined;
  try {
    zip = await openZip(source);
    const z = zip;
    const entries: ContainerEntry[] = [];
    for await (const entry of z.entries()) entries.push(await toContainerEntry(z, entry));
    return {
      entries,
      comment: z.comment,
      async close() {
        z.close();
        await source.close();
      },
    };
  } catch (err) {
    zip?.close();
    await source.close();
    throw new DiffError('KILN_DIFF_CORRUPT', `${label}: not a valid zip: ${(err as Error).message}`, { cause: err });
  }
}

async function toContainerEntry(zip: ZipArchive, entry: ZipEntry): Promise<ContainerEntry> {
  const meta: EntryMeta = { type: entry.type, mtime: entry.mtime };
  if (entry.mode !== undefined) meta.mode = entry.mode;
  for (const key of ['atime', 'ctime', 'uid', 'gid'] as const) if (entry[key] !== undefined) meta[key] = entry[key];
  const extra: Record<string, string> = { 'compression method': String(entry.compressionMethod) };
  if (entry.comment !== '') extra.comment = entry.comment;
  for (const field of entry.otherExtraFields) extra[`extra field 0x${field.id.toString(16).padStart(4, '0')}`] = field.data.toString('hex').slice(0, 256);
  meta.extra = extra;
  if (entry.type === 'symlink') {
    const target = await zip.readLinkTarget(entry);
    if (target !== undefined) meta.linkTarget = target;
    return { name: entry.name, meta };
  }
  if (entry.type !== 'file') return { name: entry.name, meta };
  // Data zip cannot decode (encrypted, an unknown method) is compared as stored.
  const open = () => lazyReader(() => zip.openEntry(entry, { raw: !entry.decodable }));
  return { name: entry.name, meta, content: { size: entry.size, reopenable: true, open } };
}

/** A reader that opens its stream on the first read. */
export function lazyReader(openStream: () => Promise<Readable>): Reader {
  let it: AsyncIterator<Buffer> | undefined;
  return new Reader(async () => {
    it ??= (await openStream())[Symbol.asyncIterator]();
    const r = await it.next();
    return r.done ? null : r.value;
  });
}
