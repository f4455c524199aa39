import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { SourceLocation } from '../util/errors.js';
import { readSchemaText } from '../util/schema.js';
import { RecipeError, type RecipeErrorCode } from './errors.js';
import type { DataPath, Locator } from './yaml.js';
import { showValue } from '../util/show-value.js';


let compiled: ValidateFunction | undefined;

/** Compiled once, on first use: ajv compilation costs tens of ms that a no-op build should not pay. */
function validator(): ValidateFunction {
  if (compiled) return compiled;
  const text = readSchemaText('recipe.schema.json');
  compiled = precompiled(text);
  if (compiled) return compiled;
  // allErrors: we choose the most useful error ourselves; verbose: gives `data` and `parentSchema`.
  // Loaded only here: the build-time validator makes ajv itself unnecessary on the usual path.
  const { Ajv2020 } = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictRequired: false });
  compiled = ajv.compile(JSON.parse(text) as object);
  return compiled;
}

/**
 * The validator that `scripts/compile-schemas.mjs` generated at build time, if it was made from
 * exactly this schema text; undefined otherwise (then we compile at run time).
 */
function precompiled(schemaText: string): ValidateFunction | undefined {
  try {
    const generated = createRequire(import.meta.url)('./recipe-validator.generated.cjs') as ValidateFunction & { schemaSha256?: string };
    const sha = createHash('sha256').update(schemaText).digest('hex');
    return generated.schemaSha256 === sha ? generated : undefined;
  } catch {
    return undefined;
  }
}

interface Report {
  code: RecipeErrorCode;
  message: string;
  where: SourceLocation;
  hint?: string;
  expected?: string;
  found?: string;
}

/** Throws the most useful schema violation of `data` as a located RecipeError. */
export function assertRecipeShape(data: unknown, locator: Locator): void {
  const validate = validator();
  if (validate(data)) return;
  const reports: Report[] = [];
  for (const error of validate.errors ?? []) {
    const path = toDataPath(data, error.instancePath);
    // A failed oneOf branch is explained by the oneOf error itself.
    if (error.schemaPath.includes('/oneOf/')) continue;
    // propertyNames first reports the name's own failure at the object's path (data is the
    // name, not the object); the propertyNames error that follows carries the name.
    if (error.data !== valueAt(data, path)) continue;
    reports.push(toReport(error, path, data, locator));
  }
  const best = pickReport(reports);
  if (!best) throw new RecipeError('KILN_RECIPE_INVALID', 'the recipe does not match its schema', { where: locator.value([]) });
  const { code, message, ...options } = best;
  throw new RecipeError(code, message, options);
}

/**
 * An unknown key first: it is usually a typo that also explains a missing key or a oneOf
 * failure beside it. Otherwise the first problem in reading order.
 */
function pickReport(reports: Report[]): Report | undefined {
  const unknown = reports.filter((r) => r.code === 'KILN_RECIPE_UNKNOWN_KEY');
  const pool = unknown.length > 0 ? unknown : reports;
  return [...pool].sort((a, b) => (a.where.line ?? 0) - (b.where.line ?? 0) || (a.where.column ?? 0) - (b.where.column ?? 0))[0];
}

const NAMED: Record<string, string> = { inputs: 'input', images: 'image', steps: 'step', env: 'env' };

/** `input "src": integrity`, `step "compile": needs[1]`, `artifact 2: path`. */
function labelOf(path: DataPath): string {
  const parts: string[] = [];
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const next = path[i + 1];
    const named = typeof segment === 'string' ? NAMED[segment] : undefined;
    if (named && next !== undefined && (i === 0 || segment === 'env')) {
      parts.push(`${named} "${next}"`);
      i++;
    } else if (segment === 'artifacts' && i === 0 && typeof next === 'number') {
      parts.push(`artifact ${next + 1}`);
      i++;
    } else if (typeof segment === 'number') {
      parts[parts.length - 1] = `${parts[parts.length - 1] ?? ''}[${segment}]`;
    } else {
      parts.push(segment);
    }
  }
  return parts.length === 0 ? 'the recipe' : parts.join(': ');
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'empty',
};

const NAME_HINT = 'names are lower case letters, digits, ".", "_" and "-", starting with a letter or digit, so that each is safe as one path component';
const RESERVED_HINT = 'kiln sets SOURCE_DATE_EPOCH, HOME, TZ, LANG, LC_ALL and every KILN_* variable itself in each step';
/** As `$defs.envName.pattern`; `__proto__` would vanish when assigned into a plain object. */
const ENV_NAME = /^(?!__proto__$)[A-Za-z_][A-Za-z0-9_]*$/;

interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
  oneOf?: { required?: string[] }[];
}

function toReport(error: ErrorObject, path: DataPath, data: unknown, locator: Locator): Report {
  const label = labelOf(path);
  const parent = (error.parentSchema ?? {}) as SchemaNode;
  const params = error.params as Record<string, unknown>;
  const value = valueAt(data, path);
  const last = path[path.length - 1];

  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = Object.keys(parent.properties ?? {});
      const guess = closest(key, allowed);
      return {
        code: 'KILN_RECIPE_UNKNOWN_KEY',
        message: path.length === 0 ? `unknown key "${key}"` : `unknown key "${key}" in ${label}`,
        where: locator.key([...path, key]),
        hint: guess ? `did you mean "${guess}"? allowed keys: ${allowed.join(', ')}` : `allowed keys: ${allowed.join(', ')}`,
      };
    }
    case 'required': {
      const key = String(params.missingProperty);
      return {
        code: 'KILN_RECIPE_MISSING_KEY',
        message: `${label} needs \`${key}\``,
        where: locator.key(path),
        hint: parent.properties?.[key]?.description,
      };
    }
    case 'oneOf': {
      const keys = (parent.oneOf ?? []).map((branch) => branch.required?.[0]);
      if (keys.length === 0 || keys.some((k) => k === undefined)) break;
      const present = (keys as string[]).filter((k) => isRecord(value) && k in value);
      return {
        code: 'KILN_RECIPE_INVALID',
        message: `${label} needs exactly one of ${keys.join(', ')}`,
        where: present.length > 1 ? locator.key([...path, present[1]!]) : locator.key(path),
        expected: `one of ${keys.join(', ')}`,
        found: present.length > 0 ? present.join(' and ') : 'none',
      };
    }
    case 'dependentRequired':
      return {
        code: 'KILN_RECIPE_INVALID',
        message: `${label}: \`${String(params.property)}\` is allowed only with \`${String(params.missingProperty)}\``,
        where: locator.key([...path, String(params.property)]),
      };
    case 'propertyNames': {
      const name = String(params.propertyName);
      const where = locator.key([...path, name]);
      if (last === 'env') {
        if (ENV_NAME.test(name)) {
          return { code: 'KILN_RECIPE_RESERVED_ENV', message: `env name "${name}" is reserved`, where, hint: RESERVED_HINT };
        }
        return { code: 'KILN_RECIPE_BAD_NAME', message: `env name "${name}" is not valid`, where, hint: 'env names match [A-Za-z_][A-Za-z0-9_]* (and are not __proto__)' };
      }
      const kind = typeof last === 'string' ? NAMED[last] ?? 'entry' : 'entry';
      return { code: 'KILN_RECIPE_BAD_NAME', message: `${kind} name "${name}" is not valid`, where, hint: NAME_HINT };
    }
    case 'type': {
      const expected = String(params.type);
      const report: Report = {
        code: 'KILN_RECIPE_INVALID',
        message: `${label} must be ${TYPE_NAMES[expected] ?? expected}`,
        where: locator.value(path),
        expected: TYPE_NAMES[expected] ?? expected,
        found: describe(value),
      };
      // The classic YAML trap: `JOBS: 4`, `version: 2.10` (which YAML reads as 2.1).
      if (expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')) {
        report.hint = `quote it so that YAML keeps it as text: ${typeof last === 'string' ? `${last}: ` : ''}"${String(value)}"`;
      }
      return report;
    }
    case 'const':
      if (path.length === 1 && path[0] === 'kiln' && typeof value === 'number') {
        return {
          code: 'KILN_RECIPE_UNSUPPORTED_FORMAT',
          message: `recipe format kiln: ${value} is not supported; this kiln reads format 1`,
          where: locator.value(path),
          expected: '1',
          found: String(value),
          hint: value > 1 ? 'the recipe was written for a newer kiln' : undefined,
        };
      }
      return { code: 'KILN_RECIPE_INVALID', message: `${label} must be ${JSON.stringify(error.schema)}`, where: locator.value(path) };
    case 'pattern':
      return patternReport(path, label, value, parent, locator);
    case 'uniqueItems': {
      const index = Math.max(Number(params.i), Number(params.j));
      const item = Array.isArray(value) ? value[index] : undefined;
      return { code: 'KILN_RECIPE_INVALID', message: `${label} lists "${showValue(item)}" twice`, where: locator.value([...path, index]) };
    }
    case 'minItems':
    case 'minProperties':
      return { code: 'KILN_RECIPE_INVALID', message: `${label} needs at least one entry`, where: locator.key(path), hint: parent.description };
    case 'minLength':
      return { code: 'KILN_RECIPE_INVALID', message: `${label} must not be empty`, where: locator.value(path), hint: parent.description };
    default:
      break;
  }
  return { code: 'KILN_RECIPE_INVALID', message: `${label} ${error.message ?? 'is not valid'}`, where: locator.value(path), hint: parent.description };
}

function patternReport(path: DataPath, label: string, value: unknown, parent: SchemaNode, locator: Locator): Report {
  const last = path[path.length - 1];
  const where = locator.value(path);
  const text = String(value);
  if (last === 'integrity') {
    return {
      code: 'KILN_RECIPE_BAD_INTEGRITY',
      message: `${label} is not a valid SRI string`,
      where,
      expected: 'sha256-<44 base64 chars>, sha384-<64> or sha512-<88>, space-separated',
      found: text,
      hint: 'remove it and run `kiln lock` to compute it',
    };
  }
  if (last === 'oci' && !text.includes('@sha256:')) {
    return {
      code: 'KILN_RECIPE_UNPINNED',
      message: `${label} "${text}" is not pinned by digest`,
      where,
      expected: '<name>@sha256:<64 hex>',
      found: text,
      hint: 'a tag can move; write the image as <name>@sha256:<digest of its manifest>',
    };
  }
  if (path.length === 1 && last === 'name') {
    return { code: 'KILN_RECIPE_BAD_NAME', message: `recipe name "${text}" is not valid`, where, hint: NAME_HINT };
  }
  return { code: 'KILN_RECIPE_INVALID', message: `${label} "${text}" is not valid`, where, found: text, hint: parent.description };
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `the ${typeof value} ${String(value)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** ajv's instancePath (JSON pointer) as keys and indexes, resolved against the data. */
function toDataPath(data: unknown, pointer: string): (string | number)[] {
  if (pointer === '') return [];
  const path: (string | number)[] = [];
  let node = data;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      path.push(Number(segment));
      node = node[Number(segment)];
    } else {
      path.push(segment);
      node = isRecord(node) ? node[segment] : undefined;
    }
  }
  return path;
}

function valueAt(data: unknown, path: DataPath): unknown {
  let node = data;
  for (const segment of path) {
    if (Array.isArray(node) && typeof segment === 'number') node = node[segment];
    else if (isRecord(node)) node = node[String(segment)];
    else return undefined;
  }
  return node;
}

/** The allowed key nearest to a typo (edit distance at most 2), if any. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
