import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptySummary, toDifference } from './classify.js';
import type { DiffOptions, DiffSummary, Difference, RawDifference } from './types.js';

/** Temp space one diff may hold at once when no budget is given: 1 GiB. */
export const DEFAULT_MAX_SPILL_BYTES = 1024 * 1024 * 1024;

export interface ResolvedDiffOptions {
  maxDifferences: number;
  textCap: number;
  maxTextLines: number;
  maxBinaryRegions: number;
  tempDir: string;
  maxSpillBytes: number;
}

export function resolveDiffOptions(options: DiffOptions = {}): ResolvedDiffOptions {
  return {
    maxDifferences: options.maxDifferences ?? 10_000,
    textCap: options.textCap ?? 1 << 20,
    maxTextLines: options.maxTextLines ?? 400,
    maxBinaryRegions: options.maxBinaryRegions ?? 8,
    tempDir: options.tempDir ?? tmpdir(),
    maxSpillBytes: options.maxSpillBytes ?? DEFAULT_MAX_SPILL_BYTES,
  };
}

/** The state of one comparison: the differences found so far, and a temp folder for spills. */
export interface DiffContext {
  readonly options: ResolvedDiffOptions;
  readonly differences: Difference[];
  readonly summary: DiffSummary;
  /** Every difference found, kept or omitted. */
  readonly found: number;
  readonly omitted: number;
  add(d: RawDifference): void;
  /** A fresh file name in this comparison's temp folder (created on first use). */
  tempPath(name: string): Promise<string>;
  /**
   * Takes `bytes` of the spill budget before they are written; false (nothing taken) when
   * fewer are left. Whoever removes a spill file gives its bytes back with `releaseSpill`.
   */
  reserveSpill(bytes: number): boolean;
  releaseSpill(bytes: number): void;
  /**
   * Two buffers of at least `bytes` (at most textCap + 1), kept for the whole comparison and
   * grown on demand: leaves are read into them (one leaf at a time), not into fresh memory
   * per member.
   */
  scratch(bytes: number): [Buffer, Buffer];
  /** Removes the temp folder and everything in it. */
  cleanup(): Promise<void>;
}

export function createDiffContext(options: DiffOptions = {}): DiffContext {
  const resolved = resolveDiffOptions(options);
  const differences: Difference[] = [];
  const summary = emptySummary();
  let found = 0;
  let dir: Promise<string> | undefined;
  let counter = 0;
  let scratch: [Buffer, Buffer] | undefined;
  let spilled = 0;
  return {
    options: resolved,
    differences,
    summary,
    get found() {
      return found;
    },
    get omitted() {
      return found - differences.length;
    },
    add(raw) {
      const d = toDifference(raw);
      found++;
      summary[d.class]++;
      // Past the cap only the counts grow: a million differing members must not fill memory.
      if (differences.length < resolved.maxDifferences) differences.push(d);
    },
    async tempPath(name) {
      dir ??= mkdtemp(join(resolved.tempDir, 'kiln-diff-'));
      return join(await dir, `${counter++}-${name}`);
    },
    reserveSpill(bytes) {
      if (spilled + bytes > resolved.maxSpillBytes) return false;
      spilled += bytes;
      return true;
    },
    releaseSpill(bytes) {
      spilled = Math.max(0, spilled - bytes);
    },
    scratch(bytes) {
      const want = Math.min(bytes, resolved.textCap + 1);
      if (scratch === undefined || scratch[0].length < want) {
        // Doubling: a few allocations over a run, whatever the member sizes.
        const size = Math.min(resolved.textCap + 1, Math.max(want, 2 * (scratch?.[0].length ?? 32 * 1024)));
        scratch = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
      }
      return scratch;
    },
    async cleanup() {
      if (dir === undefined) return;
      const d = await dir.catch(() => undefined);
      if (d !== undefined) await rm(d, { recursive: true, force: true });
    },
  };
}
