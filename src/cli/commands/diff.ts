import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { JSON_OPTIONS, parseByteSize } from '../options.js';

export const diff = defineCommand({
  name: 'diff',
  summary: 'compare two files or folders structurally, archives inside archives',
  positionals: [{ name: 'a' }, { name: 'b' }],
  options: {
    html: { type: 'string', value: 'FILE', description: 'also write the report as one HTML page' },
    'max-spill': { type: 'string', value: 'BYTES', description: 'temp space the diff may use for members it must read out of order (default 1G; suffixes K, M, G, T); a member past it is reported as too large to compare' },
    ...JSON_OPTIONS,
  },
  notes: ['Formats are told by magic bytes: tar (plain, gz, xz, bz2, zstd), zip/jar, ar/.deb, gzip headers, text, binary.'],
  exit: '0 identical · 1 different · 2 bad input or usage',
  async run({ values, positionals }, io) {
    if (values.html === '') throw new UsageError('--html needs a file name');
    const maxSpill = values['max-spill'];
    const maxSpillBytes = maxSpill === undefined ? undefined : parseByteSize(maxSpill);
    if (maxSpill !== undefined && maxSpillBytes === undefined) {
      throw new UsageError(`--max-spill takes a number of bytes (suffixes K, M, G, T: powers of 1024), got "${maxSpill}"`);
    }
    const { diff, formatText, toJSON } = await import('../../diff/index.js');
    const report = await diff(positionals[0]!, positionals[1]!, {
      ...(values.html !== undefined && { html: values.html }),
      ...(maxSpillBytes !== undefined && { maxSpillBytes }),
    });
    if (values.json) io.stdout.write(JSON.stringify(toJSON(report), null, 2) + '\n');
    else io.stdout.write(formatText(report, { color: Boolean(io.stdout.isTTY) && !process.env.NO_COLOR }));
    return report.identical ? 0 : 1;
  },
});
