import { stat } from 'node:fs/promises';
import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { JSON_OPTIONS } from '../options.js';

export const lock = defineCommand({
  name: 'lock',
  summary: 'pin every unpinned input of a recipe in kiln.lock',
  positionals: [{ name: 'recipe|dir', optional: true }, { name: 'NAME', optional: true, variadic: true }],
  options: {
    update: { type: 'boolean', description: 're-resolve the named inputs (none named: all), even those the lock already pins' },
    recipe: { type: 'string', short: 'f', value: 'FILE', description: 'the recipe, said explicitly (with --update, a first argument that exists is taken as the recipe)' },
    ...JSON_OPTIONS,
  },
  notes: ["Records versions, URLs and digests: a sha256 beside npm's sha512 pins, the Debian snapshot coordinates of each package."],
  exit: '0 the lock is current · 2 bad input or usage',
  async run({ values, positionals: given }, io) {
    // With --update the positionals are the inputs to re-resolve, except a first one that is
    // an existing file or folder: that one is the recipe (--recipe says it explicitly).
    const positionals = [...given];
    let recipe = values.recipe;
    if (recipe === undefined && positionals.length > 0) {
      const exists = await stat(positionals[0]!).then(() => true, () => false);
      if (!values.update || exists) recipe = positionals.shift();
    }
    if (!values.update && positionals.length > 0) throw new UsageError(`kiln lock takes one recipe, got ${positionals.length + 1}`);
    const update = values.update ? (positionals.length > 0 ? positionals : true) : undefined;
    const { lockRecipe } = await import('../../lock/index.js');
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
  },
});
