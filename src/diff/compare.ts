import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { KilnError } from '../util/errors.js';
import { arEntries } from './ar.js';
import { compareLeaf, sameBytes } from './bytes.js';
import { compareEntryLists, compareEntryStreams } from './container.js';
import { createDiffContext, type DiffContext } from './context.js';
import { decode } from './decode.js';
import { detectFormat, FORMAT_HEAD_BYTES, type ContentFormat } from '../archive/format.js';
import type { Source } from './entries.js';
import { DiffError } from './errors.js';
import { fileSource, listFolder, statMeta, streamSource } from './folder.js';
import { GZIP_HEAD_BYTES, GZIP_HEADER_FIELDS, parseGzipHeader } from '../archive/gzip.js';
import { hashingReader, Reader } from '../archive/reader.js';
import { tarEntries } from './tar.js';
import type { DiffOptions, DiffReport } from './types.js';

type Side = 'a' | 'b';

/** Containers nested deeper than this are compared as bytes (a crafted archive must not recurse forever). */
const MAX_DEPTH = 16;

/** Marks an error with the side whose data caused it (a corrupt side is a difference, not a failure). */
const SIDE = Symbol('kiln.diff.side');

/**
 * Compares two files or folders structurally and recursively: folders, tar (plain, gz, xz,
 * bz2, zstd), zip/jar, ar/.deb, gzip headers, text and binary leaves; archives inside
 * archives are opened in turn. Formats are told by magic bytes, never by names. Streams:
 * memory stays flat whatever the sizes (headers in memory, bodies never held whole).
 * A difference is the result, not an error: only unusable input throws (DiffError).
 */
export async function diffPaths(a: string, b: string, options?: DiffOptions): Promise<DiffReport> {
  const [sa, sb] = await Promise.all([statPath(a), statPath(b)]);
  const ctx = createDiffContext(options);
  try {
    if (sa.isDirectory() && sb.isDirectory()) await compareEntryLists(ctx, [], await listFolder(a), await listFolder(b), { ordered: false }, content);
    else if (sa.isDirectory() || sb.isDirectory()) ctx.add({ path: [], kind: 'type', detail: { a: statMeta(sa).type, b: statMeta(sb).type } });
    else await content(ctx, [], topSource(a, sa), topSource(b, sb));
  } catch (err) {
    throw asDiffError(err);
  } finally {
    await ctx.cleanup();
  }
  return { identical: ctx.found === 0, a, b, differences: ctx.differences, summary: ctx.summary, omitted: ctx.omitted };
}

async function statPath(path: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new DiffError('KILN_DIFF_NOT_FOUND', `${path}: no such file or folder`, { cause: err });
    throw new DiffError('KILN_DIFF_UNREADABLE', `${path}: ${(err as Error).message}`, { cause: err });
  }
}

function topSource(path: string, st: Stats): Source {
  return st.isFile() ? fileSource(path, st.size) : streamSource(path);
}

function asDiffError(err: unknown): unknown {
  if (err instanceof KilnError) return err;
  const errno = err as NodeJS.ErrnoException;
  if (typeof errno?.code === 'string' && typeof errno.syscall === 'string') {
    return new DiffError('KILN_DIFF_UNREADABLE', `${errno.path ?? 'reading'}: ${errno.message}`, { cause: err });
  }
  return err;
}

function content(ctx: DiffContext, path: string[], a: Source, b: Source): Promise<void> {
  return compareContent(ctx, path, a, b, 0);
}

/**
 * Compares two contents at `path`. Re-readable sources get a cheap equality pass first (a
 * memcmp stream that stops at the first difference), then a structural pass; one-shot
 * sources go straight to the structural pass with both raw streams hashed, so that bytes
 * that differ where no structure shows it still surface as a difference.
 */
async function compareContent(ctx: DiffContext, path: string[], a: Source, b: Source, depth: number): Promise<void> {
  const sizes = { a: a.size, b: b.size };
  const sizeKnown = a.size !== undefined && b.size !== undefined;
  if (sizeKnown && a.size !== b.size) ctx.add({ path, kind: 'size', detail: { a: a.size!, b: b.size! } });
  if (a.digest !== undefined && a.digest === b.digest && a.size === b.size) return;

  if (a.reopenable && b.reopenable) {
    if (!sizeKnown || a.size === b.size) {
      if (await withReaders(a, b, (ra, rb) => sameBytes(ra, rb))) return;
    }
    const explained = await withReaders(a, b, async (ra, rb) => {
      const [fa, fb] = await formats(ra, rb);
      if (fa !== undefined && fa === fb && depth < MAX_DEPTH) {
        const before = ctx.found;
        await guarded(ctx, path, () => compareFormat(ctx, path, fa, a, ra, b, rb, depth));
        return ctx.found > before;
      }
      if (fa !== fb) ctx.add({ path, kind: 'format', detail: { a: fa ?? 'data', b: fb ?? 'data' } });
      return false;
    });
    // No structure explains the difference (or there is none): show the bytes.
    if (!explained) await withReaders(a, b, (ra, rb) => compareLeaf(ctx, path, ra, rb, sizes));
    return;
  }

  await withReaders(a, b, async (ra, rb) => {
    const [fa, fb] = await formats(ra, rb);
    if (fa !== undefined && fa === fb && depth < MAX_DEPTH) {
      const ha = createHash('sha256');
      const hb = createHash('sha256');
      const ta = hashingReader(ra, ha);
      const tb = hashingReader(rb, hb);
      const before = ctx.found;
      await guarded(ctx, path, () => compareFormat(ctx, path, fa, a, ta, b, tb, depth));
      // The rest (tar's end blocks, trailing bytes) counts for the digests too.
      await Promise.all([ta.drain(), tb.drain()]);
      const da = ha.digest('hex');
      const db = hb.digest('hex');
      if (ctx.found === before && da !== db) ctx.add({ path, kind: 'bytes', detail: { a: `sha256:${da}`, b: `sha256:${db}` } });
      return;
    }
    if (fa !== fb) ctx.add({ path, kind: 'format', detail: { a: fa ?? 'data', b: fb ?? 'data' } });
    await compareLeaf(ctx, path, ra, rb, sizes);
  });
}

async function withReaders<T>(a: Source, b: Source, fn: (ra: Reader, rb: Reader) => Promise<T>): Promise<T> {
  const ra = a.open();
  const rb = b.open();
  try {
    return await fn(ra, rb);
  } finally {
    await Promise.all([ra.close(), rb.close()]);
  }
}

async function formats(ra: Reader, rb: Reader): Promise<[ContentFormat | undefined, ContentFormat | undefined]> {
  return [detectFormat(await ra.peek(FORMAT_HEAD_BYTES)), detectFormat(await rb.peek(FORMAT_HEAD_BYTES))];
}

/** Runs a structural comparison; a side whose data is corrupt becomes an `unreadable` difference. */
async function guarded(ctx: DiffContext, path: string[], fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!isCorrupt(err)) throw err;
    const side = (err as { [SIDE]?: Side })[SIDE];
    ctx.add({ path, kind: 'unreadable', detail: { side: side ?? 'both', message: (err as Error).message } });
  }
}

function isCorrupt(err: unknown): boolean {
  if (err instanceof KilnError) return err.code === 'KILN_DIFF_CORRUPT' || err.code === 'KILN_ARCHIVE_CORRUPT';
  // Failures of data readers (zlib, yauzl) carry the side; IO and programming errors do not.
  return err instanceof Error && (err as { [SIDE]?: Side })[SIDE] !== undefined;
}

function tagged(inner: Reader, side: Side): Reader {
  return new Reader(
    async () => {
      try {
        return await inner.next();
      } catch (err) {
        throw tag(err, side);
      }
    },
    () => inner.close(),
  );
}

function tag(err: unknown, side: Side): unknown {
  if (err instanceof Error && (err as { [SIDE]?: Side })[SIDE] === undefined) Object.assign(err, { [SIDE]: side });
  return err;
}

async function compareFormat(ctx: DiffContext, path: string[], format: ContentFormat, a: Source, ra: Reader, b: Source, rb: Reader, depth: number): Promise<void> {
  switch (format) {
    case 'gzip': {
      const ha = parseGzipHeader(await ra.peek(GZIP_HEAD_BYTES));
      const hb = parseGzipHeader(await rb.peek(GZIP_HEAD_BYTES));
      if (ha === undefined) throw tag(new DiffError('KILN_DIFF_CORRUPT', 'a: gzip header too long or truncated'), 'a');
      if (hb === undefined) throw tag(new DiffError('KILN_DIFF_CORRUPT', 'b: gzip header too long or truncated'), 'b');
      for (const field of GZIP_HEADER_FIELDS) {
        if (ha[field] !== hb[field]) ctx.add({ path, kind: 'gzip-header', detail: { field, a: ha[field], b: hb[field] } });
      }
      return compareDecoded(ctx, path, 'gzip', ra, rb, depth);
    }
    case 'xz':
    case 'bzip2':
    case 'zstd':
      return compareDecoded(ctx, path, format, ra, rb, depth);
    case 'tar':
      return compareEntryStreams(ctx, path, tarEntries(ra, 'a'), tarEntries(rb, 'b'), nested(depth));
    case 'ar':
      return compareEntryStreams(ctx, path, arEntries(ra, 'a'), arEntries(rb, 'b'), nested(depth));
    case 'zip':
      return compareZips(ctx, path, a, ra, b, rb, depth);
  }
}

function nested(depth: number) {
  return (ctx: DiffContext, path: string[], a: Source, b: Source) => compareContent(ctx, path, a, b, depth + 1);
}

/** The decompressed contents, compared as one-shot sources at the same path (compression adds no level). */
async function compareDecoded(ctx: DiffContext, path: string[], compression: 'gzip' | 'xz' | 'bzip2' | 'zstd', ra: Reader, rb: Reader, depth: number): Promise<void> {
  const da = decode(compression, ra, 'a');
  const db = decode(compression, rb, 'b');
  let complete = false;
  try {
    const oneShot = (r: Reader): Source => ({ reopenable: false, open: () => r });
    await compareContent(ctx, path, oneShot(tagged(da.reader, 'a')), oneShot(tagged(db.reader, 'b')), depth + 1);
    complete = true;
  } finally {
    const [fa, fb] = await Promise.allSettled([da.finish(complete), db.finish(complete)]);
    // A decompressor's own failure (exit status) surfaces once its output was read to the end.
    if (complete && fa.status === 'rejected') throw tag(fa.reason, 'a');
    if (complete && fb.status === 'rejected') throw tag(fb.reason, 'b');
  }
}

async function compareZips(ctx: DiffContext, path: string[], a: Source, ra: Reader, b: Source, rb: Reader, depth: number): Promise<void> {
  const { listZip } = await import('./zip.js');
  // zip needs random access (its directory is at the end): a member streamed out of another
  // archive goes to a temp file first, within the diff's spill budget, removed after.
  const spills: Spilled[] = [];
  try {
    const fa = a.file ?? (await spill(ctx, ra, 'a.zip', a.size, spills));
    const fb = b.file ?? (await spill(ctx, rb, 'b.zip', b.size, spills));
    if (fa === undefined || fb === undefined) {
      const side = fa === undefined && fb === undefined ? 'both' : fa === undefined ? 'a' : 'b';
      const size = side === 'b' ? b.size : a.size;
      ctx.add({ path, kind: 'too-large', detail: { side, budget: 'maxSpillBytes', limit: ctx.options.maxSpillBytes, ...(size !== undefined && { size }) } });
      return;
    }
    const za = await listZip(fa, 'a').catch((err) => Promise.reject(tag(err, 'a')));
    try {
      const zb = await listZip(fb, 'b').catch((err) => Promise.reject(tag(err, 'b')));
      try {
        if (za.comment !== zb.comment) ctx.add({ path, kind: 'metadata', detail: { field: 'zip comment', a: za.comment, b: zb.comment } });
        const tagSide = (entries: typeof za.entries, side: Side) =>
          entries.map((e) => (e.content === undefined ? e : { ...e, content: { ...e.content, open: () => tagged(e.content!.open(), side) } }));
        await compareEntryLists(ctx, path, tagSide(za.entries, 'a'), tagSide(zb.entries, 'b'), { ordered: true }, nested(depth));
      } finally {
        await zb.close();
      }
    } finally {
      await za.close();
    }
  } finally {
    await Promise.all(spills.map((s) => rm(s.path, { force: true })));
    ctx.releaseSpill(spills.reduce((n, s) => n + s.reserved, 0));
  }
}

interface Spilled {
  path: string;
  /** Budget bytes it holds until removed. */
  reserved: number;
}

/**
 * Copies the rest of `reader` to a temp file within the spill budget (`size`, when known,
 * is taken up front); undefined when it does not fit, with nothing left on disk or held.
 */
async function spill(ctx: DiffContext, reader: Reader, name: string, size: number | undefined, spills: Spilled[]): Promise<{ path: string; offset: number; size: number } | undefined> {
  if (size !== undefined && !ctx.reserveSpill(size)) return undefined;
  const path = await ctx.tempPath(name);
  const held: Spilled = { path, reserved: size ?? 0 };
  spills.push(held);
  const out = await open(path, 'wx');
  let written = 0;
  try {
    // Each write is awaited before the next read: the reader may reuse its buffers.
    for (let c = await reader.next(); c !== null; c = await reader.next()) {
      if (written + c.length > held.reserved) {
        const more = written + c.length - held.reserved;
        if (!ctx.reserveSpill(more)) {
          await out.truncate(0);
          return undefined;
        }
        held.reserved += more;
      }
      await out.write(c);
      written += c.length;
    }
  } finally {
    await out.close();
  }
  return { path, offset: 0, size: written };
}
