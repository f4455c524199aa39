import { escapeTerminal as safe } from '../util/terminal.js';
import { DIFF_CLASSES, type DiffClass, type DiffReport, type Difference } from './types.js';

export interface TextRenderOptions {
  /** ANSI colours (on a terminal, unless NO_COLOR). */
  color?: boolean;
}

const CLASS_COLOR: Record<DiffClass, string> = {
  content: '31',
  timestamp: '33',
  ordering: '35',
  permissions: '36',
  ownership: '34',
  size: '33;1',
  presence: '32',
};

const paint = (on: boolean, code: string, text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);

/**
 * The report for a terminal or a log: a verdict line with counts by class, then the
 * differences grouped by path, each line tagged with its class. Names and text come from
 * archives and are untrusted: control and bidi characters are shown escaped, never sent raw.
 */
export function formatText(report: DiffReport, options: TextRenderOptions = {}): string {
  const color = options.color ?? false;
  const out: string[] = [];
  const head = `${safe(report.a)} ↔ ${safe(report.b)}`;
  if (report.identical) return `${head}: identical\n`;
  out.push(`${head}: ${paint(color, '1', verdict(report))}`);
  for (const group of groups(report.differences)) {
    out.push('');
    out.push(paint(color, '1', showPath(group[0]!.path)));
    for (const d of group) {
      out.push(`  ${paint(color, CLASS_COLOR[d.class], d.class.padEnd(11))} ${safe(describe(d))}`);
      for (const line of detailLines(d)) {
        const shown = `      ${safe(line)}`;
        if (!color) out.push(shown);
        else if (line.startsWith('@@')) out.push(paint(true, '36', shown));
        else if (line.startsWith('-')) out.push(paint(true, '31', shown));
        else if (line.startsWith('+')) out.push(paint(true, '32', shown));
        else out.push(shown);
      }
    }
  }
  if (report.omitted > 0) out.push('', `… ${report.omitted} more differences not shown (counted above)`);
  return out.join('\n') + '\n';
}

export interface DiffReportJSON extends DiffReport {
  kiln: 'diff/v1';
}

/** The report for machines: every difference with its path, kind, class and detail. */
export function toJSON(report: DiffReport): DiffReportJSON {
  return { kiln: 'diff/v1', ...report };
}

/**
 * One self-contained page an auditor can open: inline CSS, no script, a policy that forbids
 * loading anything, and every string from the compared files HTML-escaped.
 */
export function toHtml(report: DiffReport): string {
  const title = `kiln diff: ${report.a} ↔ ${report.b}`;
  const parts: string[] = [];
  parts.push(
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head><body>',
    `<h1>kiln diff</h1>`,
    `<p class="files"><code>${esc(report.a)}</code> ↔ <code>${esc(report.b)}</code></p>`,
  );
  if (report.identical) {
    parts.push('<p class="verdict same">identical</p>');
  } else {
    parts.push(`<p class="verdict differ">${esc(verdict(report))}</p>`);
    parts.push('<table class="summary"><tr>');
    for (const c of DIFF_CLASSES) parts.push(`<th><span class="tag ${c}">${c}</span></th>`);
    parts.push('</tr><tr>');
    for (const c of DIFF_CLASSES) parts.push(`<td>${report.summary[c]}</td>`);
    parts.push('</tr></table>');
    for (const group of groups(report.differences)) {
      parts.push(`<section><h2>${group[0]!.path.map((p) => `<code>${esc(p)}</code>`).join(' › ') || '<code>(top level)</code>'}</h2><ul>`);
      for (const d of group) {
        parts.push(`<li><span class="tag ${d.class}">${d.class}</span> ${esc(describe(d))}`);
        const lines = detailLines(d);
        if (lines.length > 0) {
          parts.push('<pre>');
          for (const line of lines) {
            const cls = line.startsWith('@@') ? 'hunk' : line.startsWith('-') ? 'del' : line.startsWith('+') ? 'ins' : 'ctx';
            parts.push(`<span class="${cls}">${esc(line)}</span>\n`);
          }
          parts.push('</pre>');
        }
        parts.push('</li>');
      }
      parts.push('</ul></section>');
    }
    if (report.omitted > 0) parts.push(`<p class="omitted">${report.omitted} more differences not shown (counted above).</p>`);
  }
  parts.push('</body></html>\n');
  return parts.join('');
}

const CSS = [
  'body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#1d1d1f}',
  'code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}',
  'h2{font-size:15px;margin:1.6em 0 .4em;word-break:break-all}',
  'ul{list-style:none;padding-left:0}li{margin:.3em 0}',
  'pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px;padding:.5em .8em;overflow-x:auto;margin:.3em 0 .6em}',
  '.del{color:#b31d28;background:#ffeef0;display:block}.ins{color:#22863a;background:#f0fff4;display:block}.hunk{color:#6f42c1;display:block}.ctx{display:block}',
  '.tag{display:inline-block;min-width:6.5em;text-align:center;border-radius:3px;padding:0 .4em;font-size:12px;color:#fff}',
  '.content{background:#cf222e}.timestamp{background:#9a6700}.ordering{background:#8250df}.permissions{background:#1b7c83}',
  '.ownership{background:#0969da}.size{background:#bc4c00}.presence{background:#1a7f37}',
  '.verdict{font-weight:600}.same{color:#1a7f37}.differ{color:#cf222e}',
  'table.summary{border-collapse:collapse}table.summary td{text-align:center;padding:.2em .5em}',
].join('');

function verdict(report: DiffReport): string {
  const total = report.differences.length + report.omitted;
  const counts = DIFF_CLASSES.filter((c) => report.summary[c] > 0).map((c) => `${report.summary[c]} ${c}`);
  return `${total} difference${total === 1 ? '' : 's'} (${counts.join(', ')})`;
}

/** Consecutive differences at the same path. */
function groups(differences: Difference[]): Difference[][] {
  const out: Difference[][] = [];
  let key: string | undefined;
  for (const d of differences) {
    const k = JSON.stringify(d.path);
    if (k !== key) {
      out.push([]);
      key = k;
    }
    out[out.length - 1]!.push(d);
  }
  return out;
}

function showPath(path: string[]): string {
  return path.length === 0 ? '(top level)' : path.map(safe).join(' › ');
}

const OS_NAMES: Record<number, string> = { 0: 'FAT', 3: 'Unix', 7: 'Macintosh', 11: 'NTFS', 255: 'unknown' };

function time(seconds: number | null): string {
  if (seconds === null) return 'none';
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : `${date.toISOString().replace('.000Z', 'Z')} (${seconds})`;
}

const octal = (mode: number | null) => (mode === null ? 'none' : `0${mode.toString(8).padStart(3, '0')}`);
const value = (v: unknown) => (v === null || v === undefined ? 'none' : typeof v === 'string' ? JSON.stringify(v) : String(v));

/** One line saying what differs. */
export function describe(d: Difference): string {
  switch (d.kind) {
    case 'added':
      return `only in b (${d.detail.type}${d.detail.size !== undefined ? `, ${d.detail.size} bytes` : ''})`;
    case 'removed':
      return `only in a (${d.detail.type}${d.detail.size !== undefined ? `, ${d.detail.size} bytes` : ''})`;
    case 'text':
      return `text differs${d.detail.truncated ? ' (diff cut short)' : ''}`;
    case 'binary':
      return `bytes differ${d.detail.aSize !== d.detail.bSize ? ` (a ${d.detail.aSize} bytes, b ${d.detail.bSize} bytes)` : ''}${d.detail.truncated ? ', first places shown' : ''}`;
    case 'size':
      return `size ${d.detail.a} → ${d.detail.b} bytes`;
    case 'timestamp':
      return `${d.detail.field} ${time(d.detail.a)} → ${time(d.detail.b)}`;
    case 'permissions':
      return `mode ${octal(d.detail.a)} → ${octal(d.detail.b)}`;
    case 'ownership':
      return `${d.detail.field} ${value(d.detail.a)} → ${value(d.detail.b)}`;
    case 'link-target':
      return `link target ${value(d.detail.a)} → ${value(d.detail.b)}`;
    case 'type':
      return `type ${d.detail.a} → ${d.detail.b}`;
    case 'format':
      return `format ${d.detail.a} → ${d.detail.b}`;
    case 'ordering':
      return `entries in another order from entry #${d.detail.index + 1} (${d.detail.moved} moved): a ${d.detail.a.map((n) => JSON.stringify(n)).join(', ')} … b ${d.detail.b.map((n) => JSON.stringify(n)).join(', ')} …`;
    case 'gzip-header': {
      const { field, a, b } = d.detail;
      if (field === 'mtime') return `gzip header mtime ${time(a as number)} → ${time(b as number)}`;
      if (field === 'os') return `gzip header OS byte ${a} (${OS_NAMES[a as number] ?? '?'}) → ${b} (${OS_NAMES[b as number] ?? '?'})`;
      return `gzip header ${field} ${value(a)} → ${value(b)}`;
    }
    case 'metadata':
      return `${d.detail.field} ${value(d.detail.a)} → ${value(d.detail.b)}`;
    case 'bytes':
      return `bytes differ where no structure shows it: a ${d.detail.a}, b ${d.detail.b}`;
    case 'unreadable':
      return `could not read ${d.detail.side === 'both' ? 'a side' : d.detail.side}: ${d.detail.message}`;
    case 'too-large':
      return `too large to compare within the budget: ${d.detail.side === 'both' ? 'both sides' : d.detail.side}${d.detail.size !== undefined ? ` (${d.detail.size} bytes)` : ''} would need more temp space than the ${d.detail.limit} bytes of ${d.detail.budget} (raise it with --max-spill)`;
  }
}

/** The lines under a difference: a text diff's hunks, a binary diff's places. */
function detailLines(d: Difference): string[] {
  if (d.kind === 'text') {
    return d.detail.hunks.flatMap((h) => [`@@ -${h.aStart},${h.aLines} +${h.bStart},${h.bLines} @@`, ...h.lines]);
  }
  if (d.kind === 'binary') {
    const width = Math.max(8, ...d.detail.regions.map((r) => r.offset.toString(16).length));
    return d.detail.regions.flatMap((r) => [
      `@ 0x${r.offset.toString(16).padStart(width, '0')}`,
      `-${spaced(r.a)}`,
      `+${spaced(r.b)}`,
    ]);
  }
  return [];
}

const spaced = (hex: string) => (hex === '' ? ' (end)' : ` ${hex.replace(/(..)(?!$)/g, '$1 ')}`);

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
