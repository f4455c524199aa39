import { parseArgs } from 'node:util';
import { UsageError } from '../util/errors.js';
import type { CliIO } from './io.js';

/**
 * One option of a command, as data: the parser, the usage line and `--help` all read it, so
 * what a command accepts and what its help says cannot drift apart.
 */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** Repeatable: the values arrive as a list, in order. */
  readonly multiple?: boolean;
  /** One-letter alias (`-o`). */
  readonly short?: string;
  /** The value's name in help (`--out DIR`); string options only. */
  readonly value?: string;
  /** The command refuses to run without it (a string option, not empty). */
  readonly required?: boolean;
  /** The only values accepted; shown as the value's name when `value` is absent. */
  readonly choices?: readonly string[];
  /** One line for `--help`: what it does, and its default. */
  readonly description: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** A positional argument, for the usage line and the count check: `<a>`, `[recipe|dir]`, `<artifact…>`. */
export interface PositionalSpec {
  readonly name: string;
  readonly optional?: boolean;
  /** Takes every remaining argument (one or more; none when also optional). */
  readonly variadic?: boolean;
}

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean' ? boolean : S['multiple'] extends true ? string[] : string;
type RequiredKeys<O extends OptionSpecs> = { [K in keyof O]: O[K] extends { readonly required: true } ? K : never }[keyof O];

/** The parsed options, typed from the specs: required ones are always there. */
export type OptionValues<O extends OptionSpecs> = { -readonly [K in RequiredKeys<O>]: ValueOf<O[K]> } & {
  -readonly [K in Exclude<keyof O, RequiredKeys<O>>]?: ValueOf<O[K]>;
};

export interface ParsedArgs<O extends OptionSpecs> {
  values: OptionValues<O>;
  positionals: string[];
}

/** A command: its name, summary, arguments and options as data, and the function that runs it. */
export interface CommandSpec<O extends OptionSpecs = OptionSpecs> {
  readonly name: string;
  /** One line: the top-level usage and the head of `--help`. */
  readonly summary: string;
  readonly positionals?: readonly PositionalSpec[];
  readonly options: O;
  /** Lines after the options in `--help`: what a table of flags cannot say. */
  readonly notes?: readonly string[];
  /** What each exit code means, for `--help`. */
  readonly exit?: string;
  /**
   * Parses nothing and loads nothing at import: the library is imported inside, so that
   * `kiln build` never loads what `kiln verify` needs. Resolves to the exit code; bad input
   * throws (a KilnError, exit 2).
   */
  run(args: ParsedArgs<O>, io: CliIO): Promise<number>;
}

export type Command = CommandSpec<OptionSpecs>;

/** Types `run`'s arguments from the option specs; the command list holds them untyped. */
export function defineCommand<const O extends OptionSpecs>(spec: CommandSpec<O>): Command {
  return spec as unknown as Command;
}

/** Every command answers `--help` / `-h`. */
export const HELP_OPTION = { type: 'boolean', short: 'h', description: 'this help' } as const satisfies OptionSpec;

/**
 * Parses a command's arguments by its specs (node:util parseArgs, strict): an unknown flag, a
 * missing value, a missing required option, a value outside `choices` or the wrong number of
 * positionals is a UsageError (exit 2). `help` is true when `--help` was given.
 */
export function parseCommandArgs(command: Command, args: string[]): ParsedArgs<OptionSpecs> & { help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = { help: HELP_OPTION };
  for (const [name, spec] of Object.entries(command.options)) {
    options[name] = { type: spec.type, ...(spec.multiple && { multiple: true }), ...(spec.short && { short: spec.short }) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { help, ...values } = parsed.values as OptionValues<OptionSpecs> & { help?: boolean };
  if (help === true) return { values, positionals: parsed.positionals, help: true };
  for (const [name, spec] of Object.entries(command.options)) checkOption(command, name, spec, values[name]);
  checkPositionals(command, parsed.positionals);
  return { values, positionals: parsed.positionals, help: false };
}

function checkOption(command: Command, name: string, spec: OptionSpec, value: string | boolean | string[] | undefined): void {
  if (spec.required && (value === undefined || value === '')) throw new UsageError(`kiln ${command.name} needs ${optionSynopsis(name, spec)}`);
  if (spec.choices && value !== undefined) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (!spec.choices.includes(String(v))) throw new UsageError(`--${name} must be ${spec.choices.join(' or ')}, got "${v}"`);
    }
  }
}

function checkPositionals(command: Command, given: string[]): void {
  const specs = command.positionals ?? [];
  const min = specs.filter((p) => !p.optional).length;
  const max = specs.some((p) => p.variadic) ? Infinity : specs.length;
  if (given.length >= min && given.length <= max) return;
  const wanted = specs.length === 0 ? 'no arguments' : specs.map(positionalSynopsis).join(' ');
  throw new UsageError(`kiln ${command.name} takes ${wanted}, got ${given.length === 0 ? 'none' : given.length}`);
}

/** `<a>`, `[recipe|dir]`, `<artifact…>`. */
export function positionalSynopsis(p: PositionalSpec): string {
  const name = `${p.name}${p.variadic ? '…' : ''}`;
  return p.optional ? `[${name}]` : `<${name}>`;
}

/** `--out DIR`, `--key PUB…`, `--type ed25519|ecdsa-p256`, `--json`. */
export function optionSynopsis(name: string, spec: OptionSpec): string {
  if (spec.type === 'boolean') return `--${name}`;
  return `--${name} ${spec.value ?? spec.choices?.join('|') ?? 'VALUE'}${spec.multiple ? '…' : ''}`;
}
