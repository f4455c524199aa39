import type { BuildSummary } from '../builder/summary.js';

/** What the original provenance says was built: subjects and, per step, the output tree. */
export interface ExpectedBuild {
  /** Artifact name → hex digests (`sha256`, maybe `sha512`). */
  subjects: Record<string, Record<string, string>>;
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
  reproduced: boolean;
  artifacts: ArtifactComparison[];
  /** Artifacts the rebuild made that the provenance does not name. */
  extraArtifacts: string[];
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
 */
export function compareRebuild(expected: ExpectedBuild, actual: BuildSummary, order: string[]): RebuildComparison {
  const byName = new Map(actual.artifacts.map((a) => [a.name, a]));
  const artifacts: ArtifactComparison[] = Object.keys(expected.subjects).sort().map((name) => {
    const want = expected.subjects[name]!;
    const got = byName.get(name);
    if (!got) return { name, expected: want, reproduced: false };
    const have: Record<string, string> = got.digests;
    const common = Object.keys(want).filter((alg) => have[alg] !== undefined);
    return { name, expected: want, actual: got.digests, reproduced: common.length > 0 && common.every((alg) => want[alg] === have[alg]) };
  });
  const extraArtifacts = actual.artifacts.map((a) => a.name).filter((n) => !(n in expected.subjects)).sort();
  const steps: StepComparison[] = order
    .filter((s) => actual.steps[s])
    .map((step) => {
      const got = actual.steps[step]!.outputTree.slice('sha256:'.length);
      const want = expected.stepOutputs[step];
      return { step, ...(want !== undefined && { expected: want }), actual: got, reproduced: want === got };
    });
  const firstDivergentStep = steps.find((s) => s.expected !== undefined && !s.reproduced);
  return {
    reproduced: artifacts.length > 0 && artifacts.every((a) => a.reproduced),
    artifacts,
    extraArtifacts,
    steps,
    ...(firstDivergentStep && { firstDivergentStep }),
  };
}
