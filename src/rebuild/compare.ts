import type { BuildSummary } from '../builder/summary.js';

/** What the original provenance says was built: subjects and, per step, the output tree. */
export interface ExpectedBuild {
  /** The provenance's subjects, as listed: artifact name and hex digests (`sha256`, maybe `sha512`). */
  subjects: ReadonlyArray<{ name: string; digest: Record<string, string> }>;
  /** Step name → output tree sha256 hex (from the provenance's byproducts). */
  stepOutputs: Record<string, string>;
}

export interface ArtifactComparison {
  name: string;
  expected: Record<string, string>;
  /** Undefined when the rebuild did not produce this artifact at all. */
  actual?: { sha256: string; sha512: string };
  reproduced: boolean;
}

export interface StepComparison {
  step: string;
  expected?: string;
  actual: string;
  reproduced: boolean;
}

export interface RebuildComparison {
  /** Every subject rebuilt bit for bit, and `oneToOne`. */
  reproduced: boolean;
  /**
   * The provenance's subjects and the rebuilt artifacts match one to one by name: no subject
   * name twice, none missing from the rebuild, no rebuilt artifact the provenance leaves out.
   * A provenance that lists fewer or more artifacts than its own recipe makes vouches for
   * something that was not rebuilt.
   */
  oneToOne: boolean;
  artifacts: ArtifactComparison[];
  /** Artifacts the rebuild made that the provenance does not name. */
  extraArtifacts: string[];
  /** Subject names the provenance lists more than once. */
  repeatedSubjects: string[];
  steps: StepComparison[];
  /**
   * The first step, in build order, whose output tree differs from the original's: where the
   * two builds part. Steps after it may differ only because their inputs did.
   */
  firstDivergentStep?: StepComparison;
}

/**
 * Pure: compares a rebuild's summary with what the provenance promised. Every digest algorithm
 * both sides have must agree; an artifact with no common algorithm does not count as reproduced.
 * Names are looked up in Maps, never as object keys (`constructor` is a fine artifact name).
 */
export function compareRebuild(expected: ExpectedBuild, actual: BuildSummary, order: string[]): RebuildComparison {
  const byName = new Map(actual.artifacts.map((a) => [a.name, a]));
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const s of expected.subjects) {
    if (seen.has(s.name)) repeated.add(s.name);
    seen.add(s.name);
  }
  const artifacts: ArtifactComparison[] = [...expected.subjects]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(({ name, digest: want }) => {
      const got = byName.get(name);
      if (!got) return { name, expected: want, reproduced: false };
      const have: Record<string, string> = got.digests;
      const common = Object.keys(want).filter((alg) => Object.hasOwn(have, alg));
      return { name, expected: want, actual: got.digests, reproduced: common.length > 0 && common.every((alg) => want[alg] === have[alg]) };
    });
  const extraArtifacts = actual.artifacts.map((a) => a.name).filter((n) => !seen.has(n)).sort();
  const stepOutputs = new Map(Object.entries(expected.stepOutputs));
  const steps: StepComparison[] = order
    .filter((s) => Object.hasOwn(actual.steps, s))
    .map((step) => {
      const got = actual.steps[step]!.outputTree.slice('sha256:'.length);
      const want = stepOutputs.get(step);
      return { step, ...(want !== undefined && { expected: want }), actual: got, reproduced: want === got };
    });
  const firstDivergentStep = steps.find((s) => s.expected !== undefined && !s.reproduced);
  const oneToOne = repeated.size === 0 && extraArtifacts.length === 0 && artifacts.every((a) => a.actual !== undefined);
  return {
    reproduced: oneToOne && artifacts.length > 0 && artifacts.every((a) => a.reproduced),
    oneToOne,
    artifacts,
    extraArtifacts,
    repeatedSubjects: [...repeated].sort(),
    steps,
    ...(firstDivergentStep && { firstDivergentStep }),
  };
}
