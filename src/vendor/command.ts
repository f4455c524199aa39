import { parseArgs } from 'node:util';
import type { CliIO } from '../cli/main.js';
import { SOURCE_FLAGS, sourceOptions } from '../cli/sources.js';
import { UsageError } from '../util/errors.js';
import { checkVendorFolder } from './check.js';
import { vendorRecipe } from './vendor.js';

export const VENDOR_USAGE = 'kiln vendor [recipe|dir] --out DIR [--mirror DIR|URL…] [--debian-snapshot URL] [--json]\n       kiln vendor [recipe|dir] --check DIR [--json]';

/**
 * `kiln vendor [recipe] --out DIR`: writes every pinned input and Debian package into DIR;
 * `kiln vendor [recipe] --check DIR`: verifies DIR (and, with a recipe, that it is complete
 * for it). Resolves to 0, or 1 when the check finds a missing or corrupt blob.
 */
export async function runVendorCommand(args: string[], io: CliIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { out: { type: 'string', short: 'o' }, check: { type: 'string' }, json: { type: 'boolean' }, ...SOURCE_FLAGS }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message, { hint: VENDOR_USAGE });
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`kiln vendor takes one recipe, got ${positionals.length}`, { hint: VENDOR_USAGE });
  if ((values.out === undefined) === (values.check === undefined)) throw new UsageError('kiln vendor needs exactly one of --out DIR and --check DIR', { hint: VENDOR_USAGE });
  if (values.check !== undefined) {
    const report = await checkVendorFolder(values.check, positionals[0] !== undefined ? { recipe: positionals[0] } : {});
    if (values.json) io.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else {
      io.stdout.write(`${report.ok ? 'ok' : 'FAILED'}: ${report.dir}: ${report.checked} blobs (${report.bytes} bytes) verified\n`);
      for (const m of report.missing) io.stdout.write(`  missing  cas/${m}\n`);
      for (const c of report.corrupt) io.stdout.write(`  corrupt  cas/${c.blob}: ${c.reason}\n`);
      for (const u of report.unlisted) io.stdout.write(`  unlisted cas/${u}\n`);
      for (const i of report.incomplete) io.stdout.write(`  needed   ${i}\n`);
    }
    return report.ok ? 0 : 1;
  }
  const result = await vendorRecipe({ recipe: positionals[0] ?? '.', out: values.out!, sources: sourceOptions(values) });
  if (values.json) io.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else io.stdout.write(`vendored ${result.blobs} blobs (${result.bytes} bytes, ${result.copied} copied now) into ${result.out}\n  build from it: kiln build --locked --mirror ${result.out}\n`);
  return 0;
}
