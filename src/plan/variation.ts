/**
 * The planner's share of a `kiln check` variation (see sandbox/variations.yaml): what changes
 * in a step's environment, user, umask and paths. Everything here reaches the action key
 * through the planned step (env, user, script) or the engine variation (workdir).
 */
export interface PlanVariation {
  /** Variables over the profile's fixed ones (TZ, LANG, LC_ALL, extra ones); the recipe's own still win. */
  env?: Record<string, string>;
  /** HOME instead of the profile's. */
  home?: string;
  /** `uid:gid` for every step instead of the step's own. */
  user?: string;
  /** The umask of the prologue, e.g. "0002". */
  umask?: string;
  /** An absolute working directory instead of /kiln/work; HOME follows when the profile puts it there. */
  workdir?: string;
}
