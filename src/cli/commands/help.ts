import { UsageError } from '../../util/errors.js';
import { defineCommand, type Command } from '../command.js';
import { formatCommandHelp, formatUsage } from '../help.js';

/** `kiln help [command]`: made from the list it documents, which it is part of. */
export function createHelpCommand(commands: () => Promise<readonly Command[]>): Command {
  return defineCommand({
    name: 'help',
    summary: "this list, or a command's arguments and options",
    positionals: [{ name: 'command', optional: true }],
    options: {},
    async run({ positionals }, io) {
      const [name] = positionals;
      if (name === undefined) {
        io.stdout.write(formatUsage(await commands()));
        return 0;
      }
      const command = (await commands()).find((c) => c.name === name);
      if (!command) throw new UsageError(`unknown command "${name}"`);
      io.stdout.write(formatCommandHelp(command));
      return 0;
    },
  });
}
