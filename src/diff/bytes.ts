import type { DiffContext } from './context.js';
import type { Reader } from '../archive/reader.js';
import { isText, unifiedDiff } from './text.js';
import type { BinaryRegion } from './types.js';

const EXCERPT_BYTES = 16;
/** Equal stretches are skipped with memcmp in blocks of this size before a byte loop. */
const SCAN_BLOCK = 4096;

/**
 * Compares two leaves (files, members) read from `a` and `b` to their ends. Both under the
 * text cap: in memory, as a unified diff when both are text, else binary regions. Otherwise
 * streamed in lock-step: equal windows cost one memcmp, memory stays at a chunk per side.
 * `sizeKnown`: a size difference was already reported from the entries' headers.
 */
export async function compareLeaf(ctx: DiffContext, path: string[], a: Reader, b: Reader, sizes: { a?: number; b?: number } = {}): Promise<void> {
  const cap = ctx.options.textCap;
  const sizeKnown = sizes.a !== undefined && sizes.b !== undefined;
  if ((sizes.a ?? 0) <= cap && (sizes.b ?? 0) <= cap) {
    // Known sizes: one byte more than the larger proves the end; unknown: the cap and one.
    const need = sizeKnown ? Math.max(sizes.a!, sizes.b!) + 1 : cap + 1;
    const [sa, sb] = ctx.scratch(need);
    const ba = sa.subarray(0, await a.fill(sa.subarray(0, need)));
    const bb = sb.subarray(0, await b.fill(sb.subarray(0, need)));
    if (ba.length <= cap && bb.length <= cap) return compareBuffers(ctx, path, ba, bb, sizeKnown);
    // Over the cap: stream from here; the scratch bytes are read first, before any other leaf.
    a.unshift(ba);
    b.unshift(bb);
  }
  return compareStreams(ctx, path, a, b, sizeKnown);
}

function compareBuffers(ctx: DiffContext, path: string[], a: Buffer, b: Buffer, sizeKnown: boolean): void {
  if (a.equals(b)) return;
  if (!sizeKnown && a.length !== b.length) ctx.add({ path, kind: 'size', detail: { a: a.length, b: b.length } });
  if (isText(a) && isText(b)) {
    const diff = unifiedDiff(a.toString('utf8'), b.toString('utf8'), { maxLines: ctx.options.maxTextLines });
    ctx.add({ path, kind: 'text', detail: diff });
    return;
  }
  const regions: BinaryRegion[] = [];
  const n = Math.min(a.length, b.length);
  const truncated = scanRegions(a.subarray(0, n), b.subarray(0, n), 0, regions, ctx.options.maxBinaryRegions);
  if (a.length !== b.length && regions.length < ctx.options.maxBinaryRegions && !truncated) regions.push(tailRegion(a, b, n));
  ctx.add({ path, kind: 'binary', detail: { regions, truncated, aSize: a.length, bSize: b.length } });
}

async function compareStreams(ctx: DiffContext, path: string[], a: Reader, b: Reader, sizeKnown: boolean): Promise<void> {
  const max = ctx.options.maxBinaryRegions;
  const regions: BinaryRegion[] = [];
  let truncated = false;
  let offset = 0;
  let ca: Buffer | null = Buffer.alloc(0);
  let cb: Buffer | null = Buffer.alloc(0);
  for (;;) {
    if (ca.length === 0) ca = await a.next();
    if (cb.length === 0) cb = await b.next();
    if (ca === null || cb === null) break;
    const n = Math.min(ca.length, cb.length);
    const wa = ca.subarray(0, n);
    const wb = cb.subarray(0, n);
    if (!truncated && !wa.equals(wb)) truncated = scanRegions(wa, wb, offset, regions, max);
    offset += n;
    ca = ca.subarray(n);
    cb = cb.subarray(n);
  }
  // One side ended: what is left of the other is its surplus. The excerpt is taken before
  // draining: a reader may reuse the buffer of a chunk it handed out.
  const surplus = { offset, a: (ca ?? Buffer.alloc(0)).toString('hex', 0, EXCERPT_BYTES), b: (cb ?? Buffer.alloc(0)).toString('hex', 0, EXCERPT_BYTES) };
  const restA = ca === null ? 0 : ca.length + (await a.drain());
  const restB = cb === null ? 0 : cb.length + (await b.drain());
  const aSize = offset + restA;
  const bSize = offset + restB;
  if (regions.length === 0 && aSize === bSize) return;
  if (!sizeKnown && aSize !== bSize) ctx.add({ path, kind: 'size', detail: { a: aSize, b: bSize } });
  if (aSize !== bSize && !truncated && regions.length < max) regions.push(surplus);
  ctx.add({ path, kind: 'binary', detail: { regions, truncated, aSize, bSize } });
}

/**
 * Adds the regions where equal-length windows `a` and `b` differ (offsets from `base`).
 * Returns true when `max` regions were reached and more differences remain.
 */
function scanRegions(a: Buffer, b: Buffer, base: number, regions: BinaryRegion[], max: number): boolean {
  let from = 0;
  for (;;) {
    const at = firstDifference(a, b, from);
    if (at === -1) return false;
    if (regions.length >= max) return true;
    const end = Math.min(a.length, at + EXCERPT_BYTES);
    regions.push({ offset: base + at, a: a.toString('hex', at, end), b: b.toString('hex', at, end) });
    from = end;
  }
}

function firstDifference(a: Buffer, b: Buffer, from: number): number {
  const n = a.length;
  for (let i = from; i < n; i += SCAN_BLOCK) {
    const end = Math.min(i + SCAN_BLOCK, n);
    if (a.compare(b, i, end, i, end) === 0) continue;
    for (let j = i; j < end; j++) if (a[j] !== b[j]) return j;
  }
  return -1;
}

/** Where one side is a prefix of the other: the surplus bytes. */
function tailRegion(a: Buffer, b: Buffer, at: number): BinaryRegion {
  return { offset: at, a: a.toString('hex', at, Math.min(a.length, at + EXCERPT_BYTES)), b: b.toString('hex', at, Math.min(b.length, at + EXCERPT_BYTES)) };
}

/** True when both readers yield the same bytes; stops at the first difference (the readers are left unfinished). */
export async function sameBytes(a: Reader, b: Reader): Promise<boolean> {
  let ca: Buffer | null = Buffer.alloc(0);
  let cb: Buffer | null = Buffer.alloc(0);
  for (;;) {
    if (ca.length === 0) ca = await a.next();
    if (cb.length === 0) cb = await b.next();
    if (ca === null || cb === null) return ca === cb;
    const n = Math.min(ca.length, cb.length);
    if (!ca.subarray(0, n).equals(cb.subarray(0, n))) return false;
    ca = ca.subarray(n);
    cb = cb.subarray(n);
  }
}
