import { createRequire } from 'node:module';
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { LineCounter, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import type { SourceLocation } from '../util/errors.js';
import { BUDGET_NAMES, isOverBytes, MAX_POLICY_BYTES } from '../util/limits.js';
import { readFileBounded } from '../util/read-bounded.js';
import { parseYamlDocument } from '../util/yaml.js';
import { readSchemaText } from '../util/schema.js';
import { VerifyError } from './errors.js';

/** One named rule: a CEL expression over the statement that must be true. */
export interface PolicyRule {
  name: string;
  description?: string;
  expr: string;
  /** Where the rule's `expr` is written. */
  where: SourceLocation;
  /** The compiled expression (compiled at parse time: a syntax error is bad input, exit 2). */
  program: ParseResult;
}

export interface Policy {
  kiln: 1;
  file: string;
  description?: string;
  rules: PolicyRule[];
  /** Rebuild verdicts required (see verifyRebuilds). */
  rebuilds?: { minimum: number; rebuilders?: AllowedRebuilder[] };
}

/**
 * A rebuilder whose verdicts count: a verifier id (any trusted rebuilder key may sign for it),
 * or a (verifier id, key fingerprint) pair, the only key that may sign for that id.
 */
export type AllowedRebuilder = string | { id: string; key: string };

/** The variables a rule sees. Plain JSON data; nothing a rule can call reaches the outside. */
export interface PolicyContext {
  statement: unknown;
  predicate: unknown;
  subject: unknown[];
  artifacts: Array<{ name: string; size: number; sha256: string; sha512: string }>;
}

export interface RuleResult {
  name: string;
  passed: boolean;
  reason: string;
}

/** Reads and parses a policy file (see parsePolicy). */
export async function readPolicy(file: string): Promise<Policy> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readFileBounded(file, MAX_POLICY_BYTES);
  } catch (err) {
    throw new VerifyError('KILN_VERIFY_UNREADABLE', `cannot read policy ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      where: { file },
      cause: err,
    });
  }
  if (bytes === undefined) throw policyTooLarge(file);
  return parsePolicy(bytes.toString('utf8'), file);
}

/**
 * Parses a policy (YAML, schemas/policy.schema.json) and compiles every rule's CEL expression.
 * Pure: `file` only names the policy in errors. Throws VerifyError with file:line:column:
 * KILN_VERIFY_BAD_POLICY for YAML or schema problems, KILN_VERIFY_BAD_EXPRESSION for a rule
 * whose expression does not compile or can never be a boolean.
 */
export function parsePolicy(text: string, file: string): Policy {
  if (isOverBytes(text, MAX_POLICY_BYTES)) throw policyTooLarge(file);
  const lineCounter = new LineCounter();
  const { doc, duplicate, collectionKey } = parseYamlDocument(text, { lineCounter });
  const at = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw new VerifyError('KILN_VERIFY_BAD_POLICY', `invalid YAML: ${problem.message.split('\n')[0]}`, { where: at(problem.pos[0]) });
  if (duplicate) throw new VerifyError('KILN_VERIFY_BAD_POLICY', `invalid YAML: duplicate key "${duplicate.key}"`, { where: at(duplicate.offset) });
  if (collectionKey) throw new VerifyError('KILN_VERIFY_BAD_POLICY', 'invalid YAML: a mapping key must be plain text, not a list or mapping', { where: at(collectionKey.offset) });
  let data: unknown;
  try {
    // A policy is small: aliases may not expand into a billion laughs.
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new VerifyError('KILN_VERIFY_BAD_POLICY', `invalid YAML: ${(err as Error).message}`, { where: { file, line: 1, column: 1 }, cause: err });
  }
  const locate = (path: readonly (string | number)[], key = false): SourceLocation => at(offsetOf(doc, path, key));

  const validate = validator();
  if (!validate(data)) {
    const error = pickError(validate.errors ?? []);
    throw new VerifyError('KILN_VERIFY_BAD_POLICY', describe(error), { where: locateError(error, locate) });
  }
  const raw = data as { kiln: 1; description?: string; rules: Array<{ name: string; description?: string; expr: string }>; rebuilds?: Policy['rebuilds'] };

  const seen = new Set<string>();
  const env = celEnvironment();
  const rules = raw.rules.map((rule, i): PolicyRule => {
    const where = locate(['rules', i, 'expr']);
    if (seen.has(rule.name)) {
      throw new VerifyError('KILN_VERIFY_BAD_POLICY', `two rules are named "${rule.name}"`, { where: locate(['rules', i, 'name']), hint: 'rule names identify results; make them unique' });
    }
    seen.add(rule.name);
    let program: ParseResult;
    try {
      program = env.parse(rule.expr);
    } catch (err) {
      throw new VerifyError('KILN_VERIFY_BAD_EXPRESSION', `rule "${rule.name}": ${firstLine(err)}`, { where, cause: err });
    }
    // Type-check now: an unknown variable or a rule that can only be an int is a mistake in
    // the policy (exit 2), not a failed verification.
    const checked = program.check();
    if (!checked.valid) {
      throw new VerifyError('KILN_VERIFY_BAD_EXPRESSION', `rule "${rule.name}": ${firstLine(checked.error)}`, { where });
    }
    if (checked.type !== 'bool' && checked.type !== 'dyn') {
      throw new VerifyError('KILN_VERIFY_BAD_EXPRESSION', `rule "${rule.name}" is a ${checked.type}, never a boolean`, { where, expected: 'bool', found: checked.type });
    }
    return { name: rule.name, ...(rule.description !== undefined && { description: rule.description }), expr: rule.expr, where, program };
  });
  return { kiln: 1, file, ...(raw.description !== undefined && { description: raw.description }), rules, ...(raw.rebuilds && { rebuilds: raw.rebuilds }) };
}

function policyTooLarge(file: string): VerifyError {
  return new VerifyError('KILN_VERIFY_TOO_LARGE', `policy ${file} is larger than ${MAX_POLICY_BYTES} bytes (budget ${BUDGET_NAMES.policy})`, {
    where: { file },
    budget: { name: BUDGET_NAMES.policy, limit: MAX_POLICY_BYTES },
  });
}

/**
 * Evaluates every rule; a rule passes only if it evaluates to `true`. A runtime error (a
 * missing key) or a non-boolean result fails that rule with the reason; the others still run.
 */
export function evaluatePolicy(policy: Policy, context: PolicyContext): RuleResult[] {
  const variables = { statement: context.statement, predicate: context.predicate, subject: context.subject, artifacts: context.artifacts };
  return policy.rules.map((rule) => {
    let value: unknown;
    try {
      value = rule.program(variables);
    } catch (err) {
      return { name: rule.name, passed: false, reason: `error: ${firstLine(err)}` };
    }
    if (value === true) return { name: rule.name, passed: true, reason: rule.description ?? rule.expr };
    if (value === false) return { name: rule.name, passed: false, reason: `false: ${rule.expr}` };
    return { name: rule.name, passed: false, reason: `not a boolean (${typeof value === 'bigint' ? `${value}` : JSON.stringify(value)}): ${rule.expr}` };
  });
}

let environment: Environment | undefined;

function celEnvironment(): Environment {
  environment ??= new Environment({ homogeneousAggregateLiterals: false })
    .registerVariable('statement', 'map')
    .registerVariable('predicate', 'map')
    .registerVariable('subject', 'list')
    .registerVariable('artifacts', 'list');
  return environment;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}

let compiled: ValidateFunction | undefined;

/** The schema in schemas/, compiled on first use. */
function validator(): ValidateFunction {
  if (compiled) return compiled;
  const text = readSchemaText('policy.schema.json');
  const { Ajv2020 } = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  compiled = new Ajv2020({ allErrors: true, strict: true }).compile(JSON.parse(text) as object);
  return compiled;
}

/** An unknown key first (usually a typo explaining the rest), else the first error. */
function pickError(errors: ErrorObject[]): ErrorObject {
  return errors.find((e) => e.keyword === 'additionalProperties') ?? errors[0]!;
}

function describe(error: ErrorObject): string {
  const at = error.instancePath === '' ? 'the policy' : error.instancePath.slice(1).replaceAll('/', '.');
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${at}: unknown key "${String(params.additionalProperty)}"`;
    case 'required':
      return `${at}: missing key "${String(params.missingProperty)}"`;
    case 'const':
      return `${at}: must be ${JSON.stringify(params.allowedValue)} (this kiln reads policy format 1)`;
    default:
      return `${at}: ${error.message ?? 'invalid'}`;
  }
}

function locateError(error: ErrorObject, locate: (path: readonly (string | number)[], key?: boolean) => SourceLocation): SourceLocation {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  if (error.keyword === 'additionalProperties') return locate([...path, String((error.params as { additionalProperty: string }).additionalProperty)], true);
  return locate(path);
}

/** Offset of the value (or, with `key`, the key) at `path`; the nearest written ancestor if absent. */
function offsetOf(doc: Document, path: readonly (string | number)[], key: boolean): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      const keyNode = pair.key as Node;
      const valueNode = pair.value as Node | null;
      offset = key && i === path.length - 1 ? keyNode.range![0] : (valueNode?.range?.[0] ?? keyNode.range![0]);
      node = valueNode;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item?.range) break;
      offset = item.range[0];
      node = item;
    } else {
      break;
    }
  }
  return offset;
}
