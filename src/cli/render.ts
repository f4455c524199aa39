import type { BuildEvent, BuildReporter } from '../builder/events.js';
import type { ActionOrigin } from '../store/types.js';
import { formatLocation, isKilnError } from '../util/errors.js';
import { escapeTerminal as safe, escapeTerminalLines } from '../util/terminal.js';
import type { Output } from './io.js';

const useColor = (out: Output) => Boolean(out.isTTY) && !process.env.NO_COLOR;
const paint = (on: boolean, code: string, text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1 << 20) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1 << 30) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  return `${(bytes / (1 << 30)).toFixed(2)} GiB`;
}

/**
 * One plain line per event: for logs, CI and pipes. Every line is escaped whole: step logs,
 * input and step names and failure reasons come from the build, not from kiln.
 */
export function createPlainReporter(err: Output): BuildReporter & { finish(): void } {
  const started = new Map<string, number>();
  const reporter = (event: BuildEvent): void => {
    const line = plainLine(event, started);
    if (line !== undefined) err.write(safe(line) + '\n');
  };
  return Object.assign(reporter, { finish() {} });
}

function plainLine(event: BuildEvent, started: Map<string, number>): string | undefined {
  switch (event.type) {
    case 'plan':
      return `kiln: ${event.steps.length} steps, ${event.inputs.length} inputs`;
    case 'fetch-start':
    case 'fetch-progress':
    case 'step-queued':
      return undefined;
    case 'fetch-done':
      return `kiln: input ${event.input}: ${event.cached ? 'in store' : `fetched ${size(event.size)}`}`;
    case 'image':
      return `kiln: image ${event.image}: ${event.action}`;
    case 'step-start':
      started.set(event.step, Date.now());
      return `kiln: step ${event.step}: running`;
    case 'step-cached':
      return `kiln: step ${event.step}: cached${event.origin ? ` (${originText(event.origin)})` : ''}`;
    case 'step-done':
      return `kiln: step ${event.step}: done in ${seconds(event.durationMs)}`;
    case 'step-failed':
      return `kiln: step ${event.step}: FAILED (${event.reason})`;
    case 'log':
      return `${event.step} | ${safe(event.line)}`;
    case 'artifact':
      return undefined;
    case 'cache-warning':
      return `kiln: warning: ${event.step ? `step ${event.step}: ` : ''}${event.message}`;
  }
}

/** How a result from a shared cache was admitted, for the display. */
function originText(origin: ActionOrigin): string {
  return origin.admittedBy === 'signature' ? `remote cache, signed by ${origin.keyid}` : 'remote cache, trusted server';
}

/**
 * A live terminal display: log lines scroll above a status block that shows each running
 * step with its elapsed time and the counts of queued, running, cached and done steps.
 */
export function createTerminalReporter(err: Output): BuildReporter & { finish(): void } {
  const color = useColor(err);
  const t0 = Date.now();
  const state = new Map<string, 'queued' | 'running' | 'cached' | 'done' | 'failed'>();
  const startedAt = new Map<string, number>();
  let drawn = 0;
  let total = 0;
  const fetching = new Set<string>();

  const clear = () => {
    if (drawn > 0) err.write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const draw = () => {
    const counts = { queued: 0, running: 0, cached: 0, done: 0, failed: 0 };
    for (const s of state.values()) counts[s]++;
    const lines: string[] = [];
    for (const input of fetching) lines.push(`  ${paint(color, '36', '↓')} fetching ${safe(input)}`);
    for (const [step, s] of state) {
      if (s === 'running') lines.push(`  ${paint(color, '33', '●')} ${safe(step)} ${paint(color, '2', seconds(Date.now() - startedAt.get(step)!))}`);
    }
    const width = err.columns || 100;
    lines.push(
      paint(color, '1', 'kiln') +
        ` ${counts.done + counts.cached}/${total} · queued ${counts.queued} · running ${counts.running} · cached ${counts.cached} · done ${counts.done}` +
        (counts.failed ? ` · ${paint(color, '31', `failed ${counts.failed}`)}` : '') +
        ` · ${seconds(Date.now() - t0)}`,
    );
    // A wrapped line would break the cursor arithmetic: cut each to the terminal width.
    err.write(lines.map((l) => fit(l, width - 1)).join('\n') + '\n');
    drawn = lines.length;
  };
  const timer = setInterval(() => { clear(); draw(); }, 100);
  timer.unref();

  const above = (text: string) => { clear(); err.write(text + '\n'); draw(); };

  const reporter = (event: BuildEvent): void => {
    switch (event.type) {
      case 'plan':
        total = event.steps.length;
        for (const s of event.steps) state.set(s, 'queued');
        break;
      case 'fetch-start':
        fetching.add(event.input);
        break;
      case 'fetch-done':
        fetching.delete(event.input);
        if (!event.cached) above(`${paint(color, '36', '↓')} ${safe(event.input)} ${size(event.size)}`);
        break;
      case 'step-start':
        state.set(event.step, 'running');
        startedAt.set(event.step, Date.now());
        break;
      case 'step-cached':
        state.set(event.step, 'cached');
        above(`${paint(color, '2', '≡')} ${safe(event.step)} ${paint(color, '2', event.origin ? `cached (${safe(originText(event.origin))})` : 'cached')}`);
        break;
      case 'cache-warning':
        above(`${paint(color, '33', '!')} ${event.step ? `${safe(event.step)}: ` : ''}${safe(event.message)}`);
        break;
      case 'step-done':
        state.set(event.step, 'done');
        above(`${paint(color, '32', '✓')} ${safe(event.step)} ${paint(color, '2', seconds(event.durationMs))}`);
        break;
      case 'step-failed':
        state.set(event.step, 'failed');
        above(`${paint(color, '31', '✗')} ${safe(event.step)} ${safe(event.reason)}`);
        break;
      case 'log':
        // A step's output is the least trusted text kiln shows: a line must not move the cursor.
        above(`${paint(color, '2', `${safe(event.step)} |`)} ${safe(event.line)}`);
        break;
      case 'image':
      case 'fetch-progress':
      case 'step-queued':
      case 'artifact':
        break;
    }
  };
  return Object.assign(reporter, {
    finish() {
      clearInterval(timer);
      clear();
    },
  });
}

/** Cuts a line to `width` visible characters, keeping ANSI colour sequences whole. */
export function fit(line: string, width: number): string {
  let visible = 0;
  let out = '';
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\x1b') {
      const end = line.indexOf('m', i);
      if (end < 0) break;
      out += line.slice(i, end + 1);
      i = end;
      continue;
    }
    if (visible >= width) continue;
    out += line[i];
    visible++;
  }
  return out;
}

/**
 * A KilnError as people read it: `file:line:col: message`, then hint / expected / found.
 * Messages quote input (names, found values, log lines): every part is escaped; only the
 * hint keeps its line breaks, which are kiln's.
 */
export function formatError(err: unknown): string {
  if (!isKilnError(err)) {
    const e = err as Error;
    return `kiln: internal error: ${escapeTerminalLines(e?.stack ?? String(err))}`;
  }
  const lines = [`kiln: error: ${safe(`${err.where ? `${formatLocation(err.where)}: ` : ''}${err.message}`)} [${err.code}]`];
  if (err.expected !== undefined) lines.push(`  expected: ${safe(err.expected)}`);
  if (err.found !== undefined) lines.push(`  found:    ${safe(err.found)}`);
  const tail = (err as { logTail?: string[] }).logTail;
  if (tail?.length) lines.push('  last lines of the log:', ...tail.map((l) => `    ${safe(l)}`));
  if (err.hint) lines.push(`  hint: ${escapeTerminalLines(err.hint)}`);
  let cause = (err as { cause?: unknown }).cause;
  while (cause instanceof Error) {
    lines.push(`  cause: ${safe(isKilnError(cause) ? `${cause.located} [${cause.code}]` : cause.message)}`);
    cause = (cause as { cause?: unknown }).cause;
  }
  return lines.join('\n');
}
