import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, visit, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import type { SourceLocation } from '../util/errors.js';
import { parseYamlDocument } from '../util/yaml.js';
import { RecipeError } from './errors.js';

/** A path into the recipe's data, as ajv's instancePath names it: keys and list indexes. */
export type DataPath = readonly (string | number)[];

/** Maps a data path back to where it was written, 1-based line and column. */
export interface Locator {
  /** Where the value at `path` starts; the nearest written ancestor when it is absent. */
  value(path: DataPath): SourceLocation;
  /** Where the key naming the entry at `path` is written (a list item: the item itself). */
  key(path: DataPath): SourceLocation;
}

export interface YamlRecipe {
  data: unknown;
  locator: Locator;
}

/** Aliases may not expand past this: a recipe is small, a billion laughs is not. */
const MAX_ALIAS_COUNT = 100;

/**
 * Parses YAML keeping node ranges, in time linear in the text (see parseYamlDocument).
 * Anything the parser flags, warnings included (an unknown tag would otherwise silently
 * become a string), is a `KILN_RECIPE_SYNTAX` error at its place.
 */
export function readYaml(text: string, file: string): YamlRecipe {
  const lineCounter = new LineCounter();
  const { doc, duplicate } = parseYamlDocument(text, { lineCounter });
  const at = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };

  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw new RecipeError('KILN_RECIPE_SYNTAX', `invalid YAML: ${problem.message}`, { where: at(problem.pos[0]) });
  if (duplicate) {
    throw new RecipeError('KILN_RECIPE_DUPLICATE_KEY', `duplicate key "${duplicate.key}"`, {
      where: at(duplicate.offset),
      hint: 'each key may appear once in a mapping; YAML would otherwise keep only the last one',
    });
  }

  // toJS would stringify collection keys with a process warning and throw a bare
  // ReferenceError on a dangling alias: report both as syntax errors at their place.
  let bad: RecipeError | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (pair.key !== null && !isScalar(pair.key)) {
        bad = new RecipeError('KILN_RECIPE_SYNTAX', 'a mapping key must be plain text, not a list or mapping', {
          where: at(rangeStart(pair.key as Node) ?? 0),
        });
        return visit.BREAK;
      }
      return undefined;
    },
    Alias(_, alias) {
      if (!alias.resolve(doc)) {
        bad = new RecipeError('KILN_RECIPE_SYNTAX', `alias *${alias.source} has no anchor before it`, {
          where: at(alias.range?.[0] ?? 0),
        });
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (bad) throw bad;

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw new RecipeError('KILN_RECIPE_SYNTAX', `invalid YAML: ${(err as Error).message}`, { where: { file, line: 1, column: 1 }, cause: err });
  }
  return { data, locator: createLocator(doc, at) };
}

function createLocator(doc: Document, at: (offset: number) => SourceLocation): Locator {
  const rootStart = rangeStart(doc.contents as Node | null) ?? 0;
  // Each mapping indexed by key once, on first use: the parser asks for every input's and
  // step's place, and a scan per question is quadratic in a recipe with many entries.
  const indexes = new WeakMap<YAMLMap, Map<string, Pair>>();
  const pairOf = (map: YAMLMap, segment: string | number): Pair | undefined => {
    let index = indexes.get(map);
    if (!index) {
      index = new Map();
      for (const p of map.items) if (isPair(p) && isScalar(p.key) && !index.has(String(p.key.value))) index.set(String(p.key.value), p);
      indexes.set(map, index);
    }
    return index.get(String(segment));
  };

  /** Walks as far along `path` as the document goes; the last step found has its key and value. */
  function walk(path: DataPath): { keyStart?: number; valueStart?: number } {
    let node: unknown = doc.contents;
    let found: { keyStart?: number; valueStart?: number } = { valueStart: rootStart };
    for (const segment of path) {
      node = deref(doc, node);
      let next: { keyStart?: number; valueStart?: number; node: unknown } | undefined;
      if (isMap(node)) {
        const pair = pairOf(node as YAMLMap, segment);
        if (pair) {
          const key = pair.key as Node;
          next = { keyStart: rangeStart(key), valueStart: rangeStart(deref(doc, pair.value) as Node | null) ?? rangeEnd(key), node: pair.value };
        }
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment];
        if (item !== undefined) {
          const start = rangeStart(deref(doc, item) as Node | null);
          next = { keyStart: start, valueStart: start, node: item };
        }
      }
      if (!next) break;
      found = { keyStart: next.keyStart, valueStart: next.valueStart };
      node = next.node;
    }
    return found;
  }

  return {
    value: (path) => at(walk(path).valueStart ?? rootStart),
    key: (path) => {
      const found = walk(path);
      return at(found.keyStart ?? found.valueStart ?? rootStart);
    },
  };
}

function deref(doc: Document, node: unknown): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

function rangeStart(node: Node | null | undefined): number | undefined {
  return node && node.range ? node.range[0] : undefined;
}

function rangeEnd(node: Node): number | undefined {
  return node.range ? node.range[1] : undefined;
}
