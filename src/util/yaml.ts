import { isScalar, parseDocument, visit, type Document, type LineCounter } from 'yaml';

export interface ParsedYaml {
  doc: Document;
  /** The first key (in document order) written twice in one mapping, if any. */
  duplicate?: { key: string; offset: number };
  /** The first key that is a list or a mapping (a JS object key cannot be one), if any. */
  collectionKey?: { offset: number };
}

/**
 * Parses YAML in time linear in its size. The yaml package's own duplicate-key check
 * (`uniqueKeys: true`, its default) compares each new key with every earlier key of the map:
 * quadratic, 40,000 keys took half a minute. Here the package parses without it and one pass
 * with a Set per mapping finds duplicates. Keys are compared as the JS object will hold them
 * (`1` and `"1"` are one property), which is stricter than the package's check and exactly
 * what "last one wins" would otherwise lose. Collection keys are left to the caller.
 */
export function parseYamlDocument(text: string, options: { lineCounter?: LineCounter } = {}): ParsedYaml {
  const doc = parseDocument(text, { ...(options.lineCounter && { lineCounter: options.lineCounter }), prettyErrors: false, uniqueKeys: false, strict: true });
  let duplicate: ParsedYaml['duplicate'];
  let collectionKey: ParsedYaml['collectionKey'];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) {
          const offset = (pair.key as { range?: [number, number, number] } | null)?.range?.[0];
          if (pair.key !== null && offset !== undefined && (collectionKey === undefined || offset < collectionKey.offset)) collectionKey = { offset };
          continue;
        }
        const key = propertyName(pair.key.value);
        if (!seen.has(key)) {
          seen.add(key);
          continue;
        }
        const offset = pair.key.range?.[0] ?? 0;
        if (duplicate === undefined || offset < duplicate.offset) duplicate = { key, offset };
      }
      return undefined;
    },
  });
  return { doc, ...(duplicate && { duplicate }), ...(collectionKey && { collectionKey }) };
}

/** The property a scalar key becomes in a JS object (yaml's toJS: null is '', the rest String()). */
function propertyName(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}
