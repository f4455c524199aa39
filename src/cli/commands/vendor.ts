import type { VendorCheckReport } from '../../vendor/index.js';
import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { JSON_OPTIONS, SOURCE_OPTIONS, sourceOptions } from '../options.js';

export const vendor = defineCommand({
  name: 'vendor',
  summary: 'copy every pinned input of a recipe into a folder, or check one',
  positionals: [{ name: 'recipe|dir', optional: true }],
  options: {
    out: { type: 'string', short: 'o', value: 'DIR', description: 'the folder to write (kept beside a release, it rebuilds offline: kiln build --locked --mirror DIR)' },
    check: { type: 'string', value: 'DIR', description: 'instead: rehash every blob of DIR and, with a recipe, check DIR is complete for it' },
    ...SOURCE_OPTIONS,
    ...JSON_OPTIONS,
  },
  notes: ['Writes DIR/cas/<sha256> and DIR/index.json. Give exactly one of --out DIR and --check DIR.'],
  exit: '0 ok · 1 a blob missing or corrupt (--check) · 2 bad input or usage',
  async run({ values, positionals }, io) {
    if ((values.out === undefined) === (values.check === undefined)) throw new UsageError('kiln vendor needs exactly one of --out DIR and --check DIR');
    const { checkVendorFolder, vendorRecipe } = await import('../../vendor/index.js');
    if (values.check !== undefined) {
      const report = await checkVendorFolder(values.check, positionals[0] !== undefined ? { recipe: positionals[0] } : {});
      io.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : formatVendorCheck(report));
      return report.ok ? 0 : 1;
    }
    const result = await vendorRecipe({ recipe: positionals[0] ?? '.', out: values.out!, sources: sourceOptions(values) });
    if (values.json) io.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else io.stdout.write(`vendored ${result.blobs} blobs (${result.bytes} bytes, ${result.copied} copied now) into ${result.out}\n  build from it: kiln build --locked --mirror ${result.out}\n`);
    return 0;
  },
});

function formatVendorCheck(report: VendorCheckReport): string {
  let text = `${report.ok ? 'ok' : 'FAILED'}: ${report.dir}: ${report.checked} blobs (${report.bytes} bytes) verified\n`;
  for (const m of report.missing) text += `  missing  cas/${m}\n`;
  for (const c of report.corrupt) text += `  corrupt  cas/${c.blob}: ${c.reason}\n`;
  for (const u of report.unlisted) text += `  unlisted cas/${u}\n`;
  for (const i of report.incomplete) text += `  needed   ${i}\n`;
  return text;
}
