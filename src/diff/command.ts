import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { CliIO } from '../cli/main.js';
import { UsageError } from '../util/errors.js';
import { diffPaths } from './compare.js';
import { formatText, toHtml, toJSON } from './render.js';

export const DIFF_USAGE = 'kiln diff <a> <b> [--json] [--html FILE] [--max-spill BYTES]';

/**
 * `kiln diff <a> <b> [--json] [--html FILE] [--max-spill BYTES]`: resolves to 0 when identical, 1 when different.
 * Bad usage and unusable input throw (UsageError, DiffError: exit code 2), as every command
 * does; the CLI's handler prints them.
 */
export async function runDiffCommand(args: string[], io: CliIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { json: { type: 'boolean' }, html: { type: 'string' }, 'max-spill': { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message, { hint: DIFF_USAGE });
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 2) throw new UsageError(`kiln diff compares two paths, got ${positionals.length}`, { hint: DIFF_USAGE });
  if (values.html === '') throw new UsageError('--html needs a file name', { hint: DIFF_USAGE });
  const maxSpill = values['max-spill'];
  const maxSpillBytes = maxSpill === undefined ? undefined : parseByteSize(maxSpill);
  if (maxSpillBytes === undefined && maxSpill !== undefined) {
    throw new UsageError(`--max-spill takes a number of bytes (suffixes K, M, G, T: powers of 1024), got "${maxSpill}"`, { hint: DIFF_USAGE });
  }
  const report = await diffPaths(positionals[0]!, positionals[1]!, maxSpillBytes === undefined ? {} : { maxSpillBytes });
  if (values.html !== undefined) await writeFile(values.html, toHtml(report));
  if (values.json) io.stdout.write(JSON.stringify(toJSON(report), null, 2) + '\n');
  else io.stdout.write(formatText(report, { color: Boolean(io.stdout.isTTY) && !process.env.NO_COLOR }));
  return report.identical ? 0 : 1;
}

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** `1073741824`, `1G`, `512MiB`, `2g` → bytes; undefined when it is not a size. */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d+)\s*(?:([KMGT])(?:i?B)?|B)?$/i.exec(text.trim());
  if (!m) return undefined;
  const bytes = Number(m[1]) * UNITS[(m[2] ?? '').toUpperCase()]!;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
