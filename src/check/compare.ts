import type { BuildSummary } from '../builder/summary.js';

/**
 * Pure: names of the artifacts of `a` whose sha256 differs in `b` (or that `b` lacks), plus
 * artifacts only `b` has, sorted; limited to `among` when given. A build that failed
 * (`b` undefined) differs on every artifact.
 */
export function differingArtifacts(a: BuildSummary, b: BuildSummary | undefined, among?: ReadonlySet<string>): string[] {
  const names = new Set([...a.artifacts.map((x) => x.name), ...(b?.artifacts.map((x) => x.name) ?? [])]);
  const digestOf = (s: BuildSummary | undefined, n: string) => s?.artifacts.find((x) => x.name === n)?.digests.sha256;
  return [...names].filter((n) => (!among || among.has(n)) && digestOf(a, n) !== digestOf(b, n)).sort();
}

/**
 * Pure: a minimal subset of `candidates` for which `differs` holds, found by removing halves,
 * then quarters, … (delta debugging's ddmin without the complement tests), starting from the
 * whole set, for which it is known to hold. Tries at most `budget` subsets.
 */
export async function minimizeSubset<T>(candidates: T[], differs: (subset: T[]) => Promise<boolean>, budget: number): Promise<T[]> {
  let current = [...candidates];
  let chunk = Math.ceil(current.length / 2);
  let tries = 0;
  while (chunk >= 1 && current.length > 1 && tries < budget) {
    let removed = false;
    for (let start = 0; start < current.length && tries < budget; start += chunk) {
      const rest = [...current.slice(0, start), ...current.slice(start + chunk)];
      if (rest.length === 0) continue;
      tries++;
      if (await differs(rest)) {
        current = rest;
        removed = true;
        break;
      }
    }
    if (!removed) chunk = Math.floor(chunk / 2);
    else chunk = Math.min(chunk, Math.ceil(current.length / 2));
  }
  return current;
}
