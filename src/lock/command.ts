import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { CliIO } from '../cli/main.js';
import { UsageError } from '../util/errors.js';
import { lockRecipe } from './resolve.js';

export const LOCK_USAGE = 'kiln lock [recipe|dir] [--update [NAME…]] [--json]';

/**
 * `kiln lock [recipe] [--update [NAME…]] [--json]`. With `--update`, the positionals are the
 * inputs to re-resolve (none: all), except a first one that is an existing file or folder,
 * which is the recipe (`--recipe` says it explicitly). Resolves to 0; failures throw.
 */
export async function runLockCommand(args: string[], io: CliIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { update: { type: 'boolean' }, recipe: { type: 'string', short: 'f' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message, { hint: LOCK_USAGE });
  }
  const { values } = parsed;
  const positionals = [...parsed.positionals];
  let recipe = values.recipe;
  if (recipe === undefined && positionals.length > 0) {
    const first = positionals[0]!;
    const exists = await stat(first).then(() => true, () => false);
    if (!values.update || exists) recipe = positionals.shift();
  }
  if (!values.update && positionals.length > 0) throw new UsageError(`kiln lock takes one recipe, got ${positionals.length + 1}`, { hint: LOCK_USAGE });
  const update = values.update ? (positionals.length > 0 ? positionals : true) : undefined;
  const result = await lockRecipe(recipe ?? '.', { ...(update !== undefined && { update }) });
  if (values.json) {
    io.stdout.write(JSON.stringify({ lockFile: result.lockFile, changed: result.changed, lock: result.lock }, null, 2) + '\n');
  } else if (result.changed.length === 0) {
    io.stdout.write(`${result.lockFile} is up to date (${Object.keys(result.lock.inputs).length} inputs)\n`);
  } else {
    io.stdout.write(`wrote ${result.lockFile}: ${Object.keys(result.lock.inputs).length} inputs\n`);
    for (const name of result.changed) io.stdout.write(`  changed ${name}\n`);
  }
  return 0;
}
