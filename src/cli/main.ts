import { isKilnError, UsageError } from '../util/errors.js';
import { parseCommandArgs, type Command } from './command.js';
import type { CliIO } from './io.js';

/**
 * Every command, in the order `kiln help` lists them. A command's module is loaded only when it
 * runs (or when help lists it), and it loads its part of the library only inside `run`: so
 * `kiln build` starts without loading what `kiln verify` needs, nor the other definitions.
 */
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  build: async () => (await import('./commands/build.js')).build,
  lock: async () => (await import('./commands/lock.js')).lock,
  vendor: async () => (await import('./commands/vendor.js')).vendor,
  keygen: async () => (await import('./commands/keygen.js')).keygen,
  rebuild: async () => (await import('./commands/rebuild.js')).rebuild,
  verify: async () => (await import('./commands/verify.js')).verify,
  inspect: async () => (await import('./commands/inspect.js')).inspect,
  diff: async () => (await import('./commands/diff.js')).diff,
  check: async () => (await import('./commands/check.js')).check,
  digest: async () => (await import('./commands/digest.js')).digest,
  cache: async () => (await import('./commands/cache.js')).cache,
  version: async () => (await import('./commands/version.js')).version,
  help: async () => (await import('./commands/help.js')).createHelpCommand(loadCommands),
};

const ALIASES: Readonly<Record<string, string>> = { '--help': 'help', '-h': 'help', '--version': 'version' };

/** The definitions of every command, in help's order. */
export async function loadCommands(): Promise<Command[]> {
  return Promise.all(Object.values(COMMANDS).map((load) => load()));
}

/** The definition of one command (an alias such as `--version` allowed); undefined for an unknown name. */
export async function loadCommand(name: string): Promise<Command | undefined> {
  const wanted = ALIASES[name] ?? name;
  return Object.hasOwn(COMMANDS, wanted) ? COMMANDS[wanted]!() : undefined;
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
    const { formatError } = await import('./render.js');
    io.stderr.write(formatError(err) + '\n');
    if (err instanceof UsageError) {
      const { formatCommandHelp, formatUsage } = await import('./help.js');
      const command = name === undefined ? undefined : await loadCommand(name);
      io.stderr.write(command && command.name !== 'help' ? formatCommandHelp(command) : formatUsage(await loadCommands()));
    }
    return isKilnError(err) ? err.exitCode : 1;
  }
}

/** `main` without the rendering of errors: bad input throws (a KilnError), for callers that want the error itself. */
export async function runCommand(argv: string[], io: CliIO): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    const { formatUsage } = await import('./help.js');
    io.stdout.write(formatUsage(await loadCommands()));
    return 2;
  }
  const command = await loadCommand(name);
  if (!command) throw new UsageError(`unknown command "${name}"`, { hint: 'run `kiln help`' });
  const parsed = parseCommandArgs(command, args);
  if (parsed.help) {
    const { formatCommandHelp } = await import('./help.js');
    io.stdout.write(formatCommandHelp(command));
    return 0;
  }
  return await command.run(parsed, io);
}

/** The process's own streams. */
function processIO(): CliIO {
  return {
    stdout: { write: (t) => void process.stdout.write(t), isTTY: process.stdout.isTTY, columns: process.stdout.columns },
    stderr: { write: (t) => void process.stderr.write(t), isTTY: process.stderr.isTTY, columns: process.stderr.columns },
  };
}
