import { defineCommand } from '../command.js';
import { JSON_OPTIONS } from '../options.js';

export const digest = defineCommand({
  name: 'digest',
  summary: 'the integrity that pins a file or folder as a `path` input',
  positionals: [{ name: 'path' }],
  options: { ...JSON_OPTIONS },
  notes: ["A folder's integrity is the sha256 of its tree manifest; the content is stored, so the next build finds it."],
  async run({ values, positionals }, io) {
    const { digest } = await import('../../fetch/index.js');
    const result = await digest(positionals[0]!);
    io.stdout.write(values.json ? JSON.stringify(result, null, 2) + '\n' : `${result.integrity}\n`);
    return 0;
  },
});
