import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { JSON_OPTIONS } from '../options.js';

export const diff = defineCommand({
  name: 'diff',
  summary: 'compare two files or folders structurally, archives inside archives',
  positionals: [{ name: 'a' }, { name: 'b' }],
  options: {
    html: { type: 'string', value: 'FILE', description: 'also write the report as one HTML page' },
    ...JSON_OPTIONS,
  },
  notes: ['Formats are told by magic bytes: tar (plain, gz, xz, bz2, zstd), zip/jar, ar/.deb, gzip headers, text, binary.'],
  exit: '0 identical · 1 different · 2 bad input or usage',
  async run({ values, positionals }, io) {
    if (values.html === '') throw new UsageError('--html needs a file name');
    const { diff, formatText, toJSON } = await import('../../diff/index.js');
    const report = await diff(positionals[0]!, positionals[1]!, { ...(values.html !== undefined && { html: values.html }) });
    if (values.json) io.stdout.write(JSON.stringify(toJSON(report), null, 2) + '\n');
    else io.stdout.write(formatText(report, { color: Boolean(io.stdout.isTTY) && !process.env.NO_COLOR }));
    return report.identical ? 0 : 1;
  },
});
