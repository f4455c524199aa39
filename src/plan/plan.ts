import { topologicalOrder, stepDependencies } from '../recipe/graph.js';
import type { Recipe, StepSpec } from '../recipe/types.js';
import type { SandboxProfile } from '../sandbox/types.js';

/** Sandbox paths of the contract in DESIGN.md, in one place. */
export const KILN_INPUTS_DIR = '/kiln/inputs';
export const KILN_STEPS_DIR = '/kiln/steps';
export const KILN_WORK_DIR = '/kiln/work';
export const KILN_OUT_DIR = '/kiln/out';

/** Version of the output normalization rules; it enters action keys so a rules change rebuilds. */
export const NORMALIZE_RULES = 'normalize/v1';

export interface PlannedStep {
  name: string;
  spec: StepSpec;
  /** Steps that must finish first: `needs` plus the step an image is made from. */
  dependsOn: string[];
  /** The full environment, in the order of precedence resolved. */
  env: Record<string, string>;
  /** The script as run: kiln's prologue, then the recipe's `run`. */
  script: string;
}

export interface Plan {
  /** Steps in a deterministic topological order. */
  order: string[];
  steps: Record<string, PlannedStep>;
}

/**
 * Pure planning: order and the environment of each step. Precedence (later wins): the
 * sandbox profile's fixed variables, the recipe's `env`, the step's `env`, then kiln's own
 * (SOURCE_DATE_EPOCH, KILN_OUT), which a recipe may not override (the recipe parser rejects
 * those names, and they are written last here as a second guard).
 */
export function planBuild(recipe: Recipe, profile: SandboxProfile): Plan {
  const order = topologicalOrder(recipe);
  const steps: Record<string, PlannedStep> = {};
  for (const name of order) {
    const spec = recipe.steps[name]!;
    const env: Record<string, string> = {
      ...profile.env,
      ...recipe.env,
      ...spec.env,
      HOME: profile.env.HOME ?? KILN_WORK_DIR,
      SOURCE_DATE_EPOCH: String(recipe.sourceDateEpoch),
      KILN_OUT: KILN_OUT_DIR,
    };
    steps[name] = {
      name,
      spec,
      dependsOn: stepDependencies(recipe, name),
      env: sortedRecord(env),
      script: stepScript(profile, spec.run),
    };
  }
  return { order, steps };
}

/** The umask is set by the script's first line: the engine API has no umask setting. */
export function stepScript(profile: SandboxProfile, run: string): string {
  return `umask ${profile.umask}\n${run}`;
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
