import { HELP_OPTION, optionSynopsis, positionalSynopsis, type Command, type OptionSpec } from './command.js';

/** Help is wrapped to this many columns whatever the terminal: it is also read in pipes and READMEs. */
const WIDTH = 100;

/** Said after every command list: where kiln looks for its store and its sources, and what exit codes mean. */
const ENVIRONMENT = [
  'store:   $KILN_STORE (default $XDG_CACHE_HOME/kiln, else ~/.cache/kiln)',
  'mirrors: --mirror (repeatable), then $KILN_MIRRORS (whitespace-separated); snapshot: $KILN_DEBIAN_SNAPSHOT',
  'signing: --sign-key, else $KILN_SIGN_KEY',
  'exit:    0 success · 1 a build step failed / verdict negative · 2 bad input or usage',
];

/** `kiln verify <artifact…> --provenance FILE [options]`: the positionals, the required options, then the rest. */
export function commandSynopsis(command: Command): string {
  const parts = [`kiln ${command.name}`, ...(command.positionals ?? []).map(positionalSynopsis)];
  for (const [name, spec] of Object.entries(command.options)) if (spec.required) parts.push(optionSynopsis(name, spec));
  if (Object.values(command.options).some((spec) => !spec.required)) parts.push('[options]');
  return parts.join(' ');
}

/** `kiln`, `kiln help`: every command with its arguments and summary. */
export function formatUsage(commands: readonly Command[]): string {
  const heads = commands.map((c) => [c.name, ...(c.positionals ?? []).map(positionalSynopsis)].join(' '));
  const width = Math.max(...heads.map((h) => h.length)) + 2;
  const lines = ['kiln — hermetic, reproducible builds', '', 'usage: kiln <command> [arguments] [options]', '', 'commands:'];
  commands.forEach((c, i) => lines.push(...wrap(c.summary, `  ${heads[i]!.padEnd(width)}`)));
  lines.push('', "a command's arguments and options: kiln help <command>, or kiln <command> --help", '', ...ENVIRONMENT);
  return lines.join('\n') + '\n';
}

/** `kiln <command> --help`, `kiln help <command>`: the synopsis, the summary, every option, notes and exit codes. */
export function formatCommandHelp(command: Command): string {
  const lines = [`usage: ${commandSynopsis(command)}`, '', ...wrap(command.summary, '')];
  const options: Array<[string, OptionSpec]> = [...Object.entries(command.options), ['help', HELP_OPTION]];
  const heads = options.map(([name, spec]) => `${spec.short ? `-${spec.short}, ` : '    '}${optionSynopsis(name, spec)}`);
  const width = Math.max(...heads.map((h) => h.length)) + 2;
  lines.push('', 'options:');
  options.forEach(([, spec], i) => lines.push(...wrap(`${spec.description}${spec.required ? ' (required)' : ''}`, `  ${heads[i]!.padEnd(width)}`)));
  for (const note of command.notes ?? []) lines.push('', ...wrap(note, ''));
  if (command.exit) lines.push('', ...wrap(command.exit, 'exit: '));
  return lines.join('\n') + '\n';
}

/** Words after `head`, wrapped to WIDTH under the first word (a head too wide gets the text on the next line). */
function wrap(text: string, head: string): string[] {
  const indent = head.length > WIDTH / 2 ? 8 : head.length;
  const lines: string[] = [];
  let line = head.length > WIDTH / 2 ? (lines.push(head.trimEnd()), ' '.repeat(indent)) : head;
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = ' '.repeat(indent);
      empty = true;
    }
    line += `${empty ? '' : ' '}${word}`;
    empty = false;
  }
  lines.push(line.trimEnd());
  return lines;
}
