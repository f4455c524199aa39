import { topologicalOrder, stepDependencies } from '../recipe/graph.js';
import type { Recipe, StepSpec } from '../recipe/types.js';
import type { SandboxProfile } from '../sandbox/types.js';
import type { PlanVariation } from './variation.js';

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
  /** Set only under a `kiln check` variation: the uid:gid and working directory that replace the step's and the profile's. */
  user?: string;
  workdir?: string;
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
 *
 * A `kiln check` variation changes what kiln fixes, never what the recipe pins itself: its
 * variables go over the profile's but under the recipe's and the step's (a recipe that sets
 * TZ is not sensitive to the time zone); HOME, the user, the umask and the working directory
 * are kiln's and are replaced.
 */
export function planBuild(recipe: Recipe, profile: SandboxProfile, variation?: PlanVariation): Plan {
  const order = topologicalOrder(recipe);
  const steps: Record<string, PlannedStep> = {};
  for (const name of order) {
    const spec = recipe.steps[name]!;
    const home = profile.env.HOME ?? KILN_WORK_DIR;
    // HOME follows a moved working directory when the profile puts it there.
    const variedHome = variation?.home ?? (variation?.workdir !== undefined && home === profile.workdir ? variation.workdir : undefined);
    const env: Record<string, string> = {
      ...profile.env,
      ...variation?.env,
      ...recipe.env,
      ...spec.env,
      HOME: variedHome ?? home,
      SOURCE_DATE_EPOCH: String(recipe.sourceDateEpoch),
      KILN_OUT: KILN_OUT_DIR,
    };
    steps[name] = {
      name,
      spec,
      dependsOn: stepDependencies(recipe, name),
      env: sortedRecord(env),
      script: stepScript(variation?.umask !== undefined ? { umask: variation.umask } : profile, spec.run),
      ...(variation?.user !== undefined && { user: variation.user }),
      ...(variation?.workdir !== undefined && { workdir: variation.workdir }),
    };
  }
  return { order, steps };
}

/** The umask is set by the script's first line: the engine API has no umask setting. */
export function stepScript(profile: Pick<SandboxProfile, 'umask'>, run: string): string {
  return `umask ${profile.umask}\n${run}`;
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
