import type { TextHunk } from './types.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 without NUL bytes: shown as a unified diff. */
export function isText(data: Buffer): boolean {
  if (data.includes(0)) return false;
  try {
    UTF8.decode(data);
    return true;
  } catch {
    return false;
  }
}

export interface UnifiedDiffOptions {
  /** Unchanged lines shown around each change (default 3, as diff -u). */
  context?: number;
  /** Output lines kept over all hunks; past it `truncated` is set (default 400). */
  maxLines?: number;
  /** Edit distance past which the changed middle is shown as one block (default 2000). */
  maxEdits?: number;
}

const MAX_LINE_CHARS = 2000;
const NO_NEWLINE = '\\ No newline at end of file';

type Op = { t: ' ' | '-' | '+'; a: number; b: number };

/**
 * A unified diff of two texts (Myers' O(ND) algorithm after trimming the common head and
 * tail). Pure; the texts are small (kiln diff sends only files under its text cap here).
 */
export function unifiedDiff(a: string, b: string, options: UnifiedDiffOptions = {}): { hunks: TextHunk[]; truncated: boolean } {
  const context = options.context ?? 3;
  const maxLines = options.maxLines ?? 400;
  const la = splitLines(a);
  const lb = splitLines(b);
  const ops = diffLines(la, lb, options.maxEdits ?? 2000);
  return toHunks(ops, la, lb, context, maxLines);
}

/** Lines with their terminator, so that a last line without newline differs from one with. */
function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n').map((l) => l + '\n');
  const last = lines.pop()!;
  if (last !== '\n') lines.push(last.slice(0, -1));
  return lines;
}

function diffLines(a: string[], b: string[], maxEdits: number): Op[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const ops: Op[] = [];
  for (let i = 0; i < head; i++) ops.push({ t: ' ', a: i, b: i });
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const mid = myers(midA, midB, maxEdits) ?? wholesale(midA.length, midB.length);
  for (const op of mid) ops.push({ t: op.t, a: op.a + head, b: op.b + head });
  for (let i = tail; i > 0; i--) ops.push({ t: ' ', a: a.length - i, b: b.length - i });
  return ops;
}

function wholesale(n: number, m: number): Op[] {
  const ops: Op[] = [];
  for (let i = 0; i < n; i++) ops.push({ t: '-', a: i, b: 0 });
  for (let j = 0; j < m; j++) ops.push({ t: '+', a: n, b: j });
  return ops;
}

/** Myers' greedy shortest edit script; undefined past `maxEdits` edits (memory grows with D²). */
function myers(a: string[], b: string[], maxEdits: number): Op[] | undefined {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  if (max === 0) return [];
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= Math.min(max, maxEdits); d++) {
    // The state after step d-1, for k in [-d, d]: what backtracking needs.
    trace.push(v.slice(offset - d, offset + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, n, m);
    }
  }
  return undefined;
}

function backtrack(trace: Int32Array[], n: number, m: number): Op[] {
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d--) {
    const vd = trace[d]!;
    const get = (k: number) => vd[k + d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && get(k - 1) < get(k + 1)) ? k + 1 : k - 1;
    const prevX = get(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      ops.push({ t: ' ', a: x, b: y });
    }
    if (x === prevX) {
      y--;
      ops.push({ t: '+', a: x, b: y });
    } else {
      x--;
      ops.push({ t: '-', a: x, b: y });
    }
  }
  while (x > 0 && y > 0) {
    x--;
    y--;
    ops.push({ t: ' ', a: x, b: y });
  }
  return ops.reverse();
}

function toHunks(ops: Op[], a: string[], b: string[], context: number, maxLines: number): { hunks: TextHunk[]; truncated: boolean } {
  const hunks: TextHunk[] = [];
  let written = 0;
  let i = 0;
  while (i < ops.length) {
    while (i < ops.length && ops[i]!.t === ' ') i++;
    if (i === ops.length) break;
    // A hunk: from `context` lines before this change to `context` after the last change that
    // is closer than 2 × context to the next one.
    const start = Math.max(0, i - context);
    let end = i;
    for (;;) {
      while (end < ops.length && ops[end]!.t !== ' ') end++;
      let gap = end;
      while (gap < ops.length && ops[gap]!.t === ' ') gap++;
      if (gap < ops.length && gap - end <= 2 * context) end = gap;
      else break;
    }
    const stop = Math.min(ops.length, end + context);
    const hunk: TextHunk = { aStart: 0, aLines: 0, bStart: 0, bLines: 0, lines: [] };
    const first = ops[start]!;
    hunk.aStart = first.a + 1;
    hunk.bStart = first.b + 1;
    for (let j = start; j < stop; j++) {
      const op = ops[j]!;
      const line = op.t === '+' ? b[op.b]! : a[op.a]!;
      if (op.t !== '+') hunk.aLines++;
      if (op.t !== '-') hunk.bLines++;
      if (written >= maxLines) continue;
      hunk.lines.push(op.t + show(line));
      written++;
      if (!line.endsWith('\n') && written < maxLines) {
        hunk.lines.push(NO_NEWLINE);
        written++;
      }
    }
    // diff -u: an empty side starts at the line before.
    if (hunk.aLines === 0) hunk.aStart--;
    if (hunk.bLines === 0) hunk.bStart--;
    if (hunk.lines.length > 0) hunks.push(hunk);
    if (written >= maxLines) return { hunks, truncated: true };
    i = stop;
  }
  return { hunks, truncated: false };
}

function show(line: string): string {
  const text = line.endsWith('\n') ? line.slice(0, -1) : line;
  return text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)}…` : text;
}
