import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { CliIO } from '../cli/main.js';
import { UsageError } from '../util/errors.js';
import { diffPaths } from './compare.js';
import { formatText, toHtml, toJSON } from './render.js';

export const DIFF_USAGE = 'kiln diff <a> <b> [--json] [--html FILE]';

/**
 * `kiln diff <a> <b> [--json] [--html FILE]`: resolves to 0 when identical, 1 when different.
 * Bad usage and unusable input throw (UsageError, DiffError: exit code 2), as every command
 * does; the CLI's handler prints them.
 */
export async function runDiffCommand(args: string[], io: CliIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { json: { type: 'boolean' }, html: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message, { hint: DIFF_USAGE });
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 2) throw new UsageError(`kiln diff compares two paths, got ${positionals.length}`, { hint: DIFF_USAGE });
  if (values.html === '') throw new UsageError('--html needs a file name', { hint: DIFF_USAGE });
  const report = await diffPaths(positionals[0]!, positionals[1]!);
  if (values.html !== undefined) await writeFile(values.html, toHtml(report));
  if (values.json) io.stdout.write(JSON.stringify(toJSON(report), null, 2) + '\n');
  else io.stdout.write(formatText(report, { color: Boolean(io.stdout.isTTY) && !process.env.NO_COLOR }));
  return report.identical ? 0 : 1;
}
