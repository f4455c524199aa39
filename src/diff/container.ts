import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import type { DiffContext } from './context.js';
import type { ContainerEntry, EntryStream, Source } from './entries.js';
import { fileSource } from './folder.js';
import { metaDifferences } from './meta.js';

/** Compares two contents at a path (compare.ts), handed in to keep this file free of formats. */
export type ContentComparer = (ctx: DiffContext, path: string[], a: Source, b: Source) => Promise<void>;

/** Names shown around the first place where the order differs. */
const ORDER_WINDOW = 5;

/**
 * Compares two streamed containers (tar, ar). While both sides name the same member, the
 * members are compared as they stream by, in lock-step: the usual case, no member is held and
 * nothing is spilled. At the first mismatch the rest of each side is indexed: bodies spilled
 * to a temp file (hashed on the way, so equal members need no second read) as far as the
 * diff's spill budget goes, headers kept in memory; then members are paired by name. A member
 * past the budget is skipped, not written, and its pair is reported `too-large`.
 */
export async function compareEntryStreams(ctx: DiffContext, path: string[], a: EntryStream, b: EntryStream, content: ContentComparer): Promise<void> {
  let index = 0;
  for (;;) {
    const ea = await a.next();
    const eb = await b.next();
    if (ea === undefined && eb === undefined) return;
    if (ea !== undefined && eb !== undefined && ea.name === eb.name) {
      await compareEntry(ctx, path, ea, eb, content);
      index++;
      continue;
    }
    const spills: Spills = { files: [], bytes: 0 };
    try {
      const la = await spillRest(ctx, ea, a, 'a', spills);
      const lb = await spillRest(ctx, eb, b, 'b', spills);
      await compareEntryLists(ctx, path, la, lb, { ordered: true, indexBase: index }, content);
    } finally {
      await Promise.all(spills.files.map((p) => rm(p, { force: true })));
      ctx.releaseSpill(spills.bytes);
    }
    return;
  }
}

export interface EntryListOptions {
  /** The order of entries is part of the format (archives): report when it differs. Not for folders. */
  ordered: boolean;
  /** Position of the lists' first entries in their container (entries before were equal in order). */
  indexBase?: number;
}

/**
 * Pairs the entries of two lists by name (the n-th entry of a name with the n-th of the same
 * name on the other side: tar allows duplicates) and compares each pair; the rest are added
 * or removed. With `ordered`, a different order of the common entries is one difference.
 */
export async function compareEntryLists(
  ctx: DiffContext,
  path: string[],
  la: ContainerEntry[],
  lb: ContainerEntry[],
  options: EntryListOptions,
  content: ContentComparer,
): Promise<void> {
  const ka = keys(la);
  const kb = keys(lb);
  const inB = new Map(kb.map((k, i) => [k, i]));
  const inA = new Set(ka);
  if (options.ordered) {
    const orderA = ka.map((k, i) => [k, i] as const).filter(([k]) => inB.has(k));
    const orderB = kb.map((k, i) => [k, i] as const).filter(([k]) => inA.has(k));
    let moved = 0;
    let first = -1;
    for (let i = 0; i < orderA.length; i++) {
      if (orderA[i]![0] === orderB[i]![0]) continue;
      moved++;
      if (first === -1) first = i;
    }
    if (first !== -1) {
      const window = (order: (readonly [string, number])[], list: ContainerEntry[]) => order.slice(first, first + ORDER_WINDOW).map(([, i]) => list[i]!.name);
      ctx.add({ path, kind: 'ordering', detail: { index: (options.indexBase ?? 0) + first, a: window(orderA, la), b: window(orderB, lb), moved } });
    }
  }
  for (let i = 0; i < la.length; i++) {
    const j = inB.get(ka[i]!);
    const ea = la[i]!;
    if (j === undefined) ctx.add({ path: [...path, ea.name], kind: 'removed', detail: { type: ea.meta.type, ...(ea.content?.size !== undefined && { size: ea.content.size }) } });
    else await compareEntry(ctx, path, ea, lb[j]!, content);
  }
  for (let j = 0; j < lb.length; j++) {
    const eb = lb[j]!;
    if (!inA.has(kb[j]!)) ctx.add({ path: [...path, eb.name], kind: 'added', detail: { type: eb.meta.type, ...(eb.content?.size !== undefined && { size: eb.content.size }) } });
  }
}

async function compareEntry(ctx: DiffContext, path: string[], a: ContainerEntry, b: ContainerEntry, content: ContentComparer): Promise<void> {
  const at = [...path, a.name];
  for (const d of metaDifferences(at, a.meta, b.meta)) ctx.add(d);
  if (a.meta.type !== b.meta.type) return;
  if (a.content === undefined || b.content === undefined) return;
  if (a.content.tooLarge || b.content.tooLarge) {
    const side = a.content.tooLarge && b.content.tooLarge ? 'both' : a.content.tooLarge ? 'a' : 'b';
    const size = side === 'b' ? b.content.size : a.content.size;
    ctx.add({ path: at, kind: 'too-large', detail: { side, budget: 'maxSpillBytes', limit: ctx.options.maxSpillBytes, ...(size !== undefined && { size }) } });
    return;
  }
  await content(ctx, at, a.content, b.content);
}

function keys(list: ContainerEntry[]): string[] {
  const seen = new Map<string, number>();
  return list.map((e) => {
    const n = seen.get(e.name) ?? 0;
    seen.set(e.name, n + 1);
    return n === 0 ? e.name : `${e.name}\0${n}`;
  });
}

/** The spill files of one container comparison, and the budget bytes they hold. */
interface Spills {
  files: string[];
  bytes: number;
}

/**
 * Reads `first` and the rest of `stream`, bodies into one spill file (hashed), headers into
 * memory. A body that would take the spill past its budget is not written (its size, from the
 * header, is known before its first byte): its entry keeps a `tooLarge` source, and the stream
 * skips its bytes.
 */
async function spillRest(ctx: DiffContext, first: ContainerEntry | undefined, stream: EntryStream, side: 'a' | 'b', spills: Spills): Promise<ContainerEntry[]> {
  const entries: ContainerEntry[] = [];
  if (first === undefined) return entries;
  const file = await ctx.tempPath(`spill-${side}`);
  spills.files.push(file);
  const handle = await open(file, 'wx');
  const tooLarge = (e: ContainerEntry): ContainerEntry => ({
    ...e,
    content: { ...(e.content?.size !== undefined && { size: e.content.size }), reopenable: false, tooLarge: true, open: () => { throw new Error('a member over the spill budget has no content'); } },
  });
  try {
    let offset = 0;
    for (let e: ContainerEntry | undefined = first; e !== undefined; e = await stream.next()) {
      if (e.content === undefined) {
        entries.push(e);
        continue;
      }
      const declared = e.content.size;
      if (declared !== undefined && !ctx.reserveSpill(declared)) {
        entries.push(tooLarge(e));
        continue;
      }
      let reserved = declared ?? 0;
      spills.bytes += reserved;
      const reader = e.content.open();
      const hash = createHash('sha256');
      let size = 0;
      let fits = true;
      for (let c = await reader.next(); c !== null; c = await reader.next()) {
        // Sizes are declared by tar and ar; a format that declares none takes budget as it goes.
        if (size + c.length > reserved) {
          const more = size + c.length - reserved;
          if (!ctx.reserveSpill(more)) {
            fits = false;
            break;
          }
          reserved += more;
          spills.bytes += more;
        }
        hash.update(c);
        // At an explicit position: after a truncate the descriptor's own position is stale.
        await handle.write(c, 0, c.length, offset + size);
        size += c.length;
      }
      if (!fits) {
        // Give the partial body's place back: the next member starts where this one did.
        await handle.truncate(offset);
        ctx.releaseSpill(reserved);
        spills.bytes -= reserved;
        entries.push(tooLarge(e));
        continue;
      }
      entries.push({ ...e, content: fileSource(file, size, offset, hash.digest('hex')) });
      offset += size;
    }
  } finally {
    await handle.close();
  }
  return entries;
}
