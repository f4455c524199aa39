/** What the base tree needs to know of a package's control file: what it depends on and provides. */
export interface DebRelations {
  package: string;
  /** Depends and Pre-Depends: each clause a list of alternatives (package names, no versions). */
  depends: string[][];
  /** Virtual packages it provides (`awk` for mawk). */
  provides: string[];
}

/**
 * The fields of a control file (deb822, one stanza): `Name: value` lines, continuation lines
 * (starting with a space or tab) joined to their field with a newline. Names are compared as
 * written (dpkg writes them capitalized). Pure.
 */
export function parseControlFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (fields.size > 0) break;
      continue;
    }
    if ((line.startsWith(' ') || line.startsWith('\t')) && current !== undefined) {
      fields.set(current, `${fields.get(current)!}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    current = line.slice(0, colon).trim();
    fields.set(current, line.slice(colon + 1).trim());
  }
  return fields;
}

/** `libc6 (>= 2.34), awk | mawk:any, foo [amd64] <!nocheck>` → [['libc6'], ['awk', 'mawk'], ['foo']]. */
export function parseRelations(value: string | undefined): string[][] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((clause) => clause.split('|').map((alt) => /^\s*([a-z0-9][a-z0-9+.-]*)/.exec(alt)?.[1]).filter((n): n is string => n !== undefined))
    .filter((clause) => clause.length > 0);
}

/** A control file's relations. Pure. */
export function debRelations(text: string): DebRelations {
  const fields = parseControlFields(text);
  return {
    package: fields.get('Package') ?? '',
    depends: [...parseRelations(fields.get('Pre-Depends')), ...parseRelations(fields.get('Depends'))],
    provides: parseRelations(fields.get('Provides')).flat(),
  };
}

/**
 * The packages a base tree extracts: `roots` (Debian's required set) and, within `relations`
 * (the image's packages), everything they depend on, as debootstrap resolves its base. Every
 * alternative and every provider of a virtual package that is in the set counts: extracting one
 * more package than dpkg needs is harmless, one fewer leaves a library missing. Sorted. Pure.
 */
export function dependencyClosure(roots: string[], relations: DebRelations[]): string[] {
  const byName = new Map(relations.map((r) => [r.package, r]));
  const providers = new Map<string, string[]>();
  for (const r of relations) for (const v of r.provides) providers.set(v, [...(providers.get(v) ?? []), r.package]);
  const seen = new Set<string>();
  const pending = roots.filter((n) => byName.has(n));
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const clause of byName.get(name)!.depends) {
      for (const alt of clause) {
        for (const found of [...(byName.has(alt) ? [alt] : []), ...(providers.get(alt) ?? [])]) {
          if (!seen.has(found)) pending.push(found);
        }
      }
    }
  }
  return [...seen].sort();
}
