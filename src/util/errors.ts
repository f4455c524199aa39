/**
 * Every error kiln raises on purpose is a KilnError: a family (the class), a stable `code`
 * from that family's closed union, and optional `hint`, `expected`, `found` and `where`.
 * The CLI maps `exitCode` to the process exit status: 2 bad input or usage, 1 a failed
 * verdict (a step failed, a build does not reproduce).
 */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

/**
 * A resource budget that refused input: its name as documented (docs/security.md, "Budgets")
 * and its limit. Set on every error raised because a budget ran out.
 */
export interface Budget {
  name: string;
  limit: number;
}

export interface KilnErrorOptions {
  cause?: unknown;
  hint?: string;
  expected?: string;
  found?: string;
  where?: SourceLocation;
  budget?: Budget;
}

export abstract class KilnError extends Error {
  abstract readonly code: string;
  /** 2: the input or usage was wrong; 1: the work ran and the verdict is negative. */
  readonly exitCode: 1 | 2 = 2;
  readonly hint?: string;
  readonly expected?: string;
  readonly found?: string;
  readonly where?: SourceLocation;
  readonly budget?: Budget;

  constructor(message: string, options: KilnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.expected = options.expected;
    this.found = options.found;
    this.where = options.where;
    this.budget = options.budget;
  }

  /** `file:line:col: message` when a location is known. */
  get located(): string {
    return this.where ? `${formatLocation(this.where)}: ${this.message}` : this.message;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.where && { where: this.where }),
      ...(this.hint && { hint: this.hint }),
      ...(this.expected && { expected: this.expected }),
      ...(this.found && { found: this.found }),
      ...(this.budget && { budget: this.budget }),
    };
  }
}

export function formatLocation(where: SourceLocation): string {
  let text = where.file;
  if (where.line !== undefined) text += `:${where.line}`;
  if (where.line !== undefined && where.column !== undefined) text += `:${where.column}`;
  return text;
}

export function isKilnError(value: unknown): value is KilnError {
  return value instanceof KilnError;
}

export type UsageErrorCode = 'KILN_USAGE';

/** Bad command line: unknown flag, missing argument. */
export class UsageError extends KilnError {
  readonly code: UsageErrorCode = 'KILN_USAGE';
}
