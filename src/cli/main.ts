import { isKilnError, UsageError } from '../util/errors.js';
import { parseCommandArgs, type Command } from './command.js';
import { build } from './commands/build.js';
import { cache } from './commands/cache.js';
import { check } from './commands/check.js';
import { diff } from './commands/diff.js';
import { digest } from './commands/digest.js';
import { createHelpCommand } from './commands/help.js';
import { inspect } from './commands/inspect.js';
import { keygen } from './commands/keygen.js';
import { lock } from './commands/lock.js';
import { rebuild } from './commands/rebuild.js';
import { vendor } from './commands/vendor.js';
import { verify } from './commands/verify.js';
import { version } from './commands/version.js';
import { formatCommandHelp, formatUsage } from './help.js';
import { processIO, type CliIO } from './io.js';
import { formatError } from './render.js';

// The command modules hold definitions and renderers only: each loads its part of the library
// inside `run`, so `kiln build` starts without loading what `kiln verify` needs.

/** Every command, in the order `kiln help` lists them. */
export const COMMANDS: readonly Command[] = [build, lock, vendor, keygen, rebuild, verify, inspect, diff, check, digest, cache, version, createHelpCommand(() => COMMANDS)];

const ALIASES: Readonly<Record<string, string>> = { '--help': 'help', '-h': 'help', '--version': 'version' };

export function findCommand(name: string): Command | undefined {
  const wanted = ALIASES[name] ?? name;
  return COMMANDS.find((c) => c.name === wanted);
}

/**
 * Runs one kiln command; resolves to the process exit code. Every error is rendered here, the
 * same way for every command: on stderr (with the command's help after a usage error), and as
 * a `error/v1` document on stdout when `--json` was asked for.
 */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  try {
    return await runCommand(argv, io);
  } catch (err) {
    const [name, ...args] = argv;
    if (args.includes('--json')) {
      const error = isKilnError(err) ? err.toJSON() : { message: String((err as Error)?.message ?? err) };
      io.stdout.write(JSON.stringify({ kiln: 'error/v1', error }, null, 2) + '\n');
    }
    io.stderr.write(formatError(err) + '\n');
    if (err instanceof UsageError) {
      const command = name === undefined ? undefined : findCommand(name);
      io.stderr.write(command && command.name !== 'help' ? formatCommandHelp(command) : formatUsage(COMMANDS));
    }
    return isKilnError(err) ? err.exitCode : 1;
  }
}

/** `main` without the rendering of errors: bad input throws (a KilnError), for callers that want the error itself. */
export async function runCommand(argv: string[], io: CliIO): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    io.stdout.write(formatUsage(COMMANDS));
    return 2;
  }
  const command = findCommand(name);
  if (!command) throw new UsageError(`unknown command "${name}"`, { hint: 'run `kiln help`' });
  const parsed = parseCommandArgs(command, args);
  if (parsed.help) {
    io.stdout.write(formatCommandHelp(command));
    return 0;
  }
  return await command.run(parsed, io);
}
