import type { Digest } from '../util/digest.js';
import type { ClockShift } from './clock.js';

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

/**
 * What `kiln check` varies at the engine, over the profile's fixed settings. Every member is
 * applied by the engine (not by the step's script), and every member enters the action key
 * (as `engine`), so its shape is part of the action key format.
 */
export interface EngineVariation {
  hostname?: string;
  domainname?: string;
  /** The working directory instead of the profile's (`build_path`). */
  workdir?: string;
  /** The CPUs the step may use, e.g. "0": fewer CPUs (`num_cpus`). */
  cpusetCpus?: string;
  /** Paths mounted as tmpfs, with their mount options (`fileordering`: readdir order is reverse creation order). */
  tmpfs?: Record<string, string>;
  /** Inputs and needed steps served from in-memory file systems written in sorted order (`fileordering`). */
  mounts?: 'memory';
  /** A shifted clock (`time`): the offset, and the injected libfaketime when the image has none. */
  clock?: { offsetSeconds: number; library?: Digest };
}

/** A `kiln check` variation, resolved into planner and engine settings. */
export interface BuildVariation {
  plan?: PlanVariation;
  engine?: Pick<EngineVariation, 'hostname' | 'domainname' | 'cpusetCpus'>;
  /** The working directory and /tmp as fresh tmpfs mounts, owned by the step's user (fileordering). */
  tmpfs?: boolean;
  /**
   * Inputs and needed steps as fresh in-memory file systems written in sorted order
   * (fileordering), for an engine that has the `mounts-in-memory` feature; the step's script
   * then waits at a gate on stdin until the engine placed them.
   */
  mountsInMemory?: boolean;
  /** A shifted clock for every step whose image can take libfaketime (`time`); see plan/clock.ts. */
  clock?: ClockShift;
}
