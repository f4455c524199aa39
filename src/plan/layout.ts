import type { EngineAction, ImageRef, LoadedSandboxProfile, Mount } from '../sandbox/types.js';
import type { Digest } from '../util/digest.js';
import { ACTION_KEY_FORMAT, computeActionKey, type ActionKeyMaterial } from './action-key.js';
import { KILN_OUT_DIR } from './plan.js';
import type { BuildVariation, EngineVariation } from './variation.js';

// What every planned action shares, whoever plans it (a step, an image's assembly, a clock
// probe): the action's shape, the platform, the scratch folders and the limits.

/** The platform every action is planned for; it enters the action key. */
export const PLATFORM = 'linux/amd64';

/**
 * One unit of execution, fully resolved: what is hashed (`material`, whose digest is the
 * action key) kept apart from what the engine is handed (`run`, which adds what cannot change
 * the result: the label, the timeout). Steps and kiln's own implicit actions (image assembly)
 * are both planned into this shape and executed by the same executor.
 */
export interface PlannedAction {
  /** A step name, or `image:<name>` for an image's assembly: events, logs and errors. */
  name: string;
  material: ActionKeyMaterial;
  actionKey: Digest;
  run: EngineAction;
  /** Normalize archives in the output tree (rules `NORMALIZE_RULES`, which are in the material). */
  normalize: boolean;
  /** kiln's own action (an image's assembly, a clock probe), not a recipe step. */
  implicit?: true;
}

/** What every action of a build shares. */
export interface ActionContext {
  profile: LoadedSandboxProfile;
  sourceDateEpoch: number;
  variation?: BuildVariation;
  /** Per-action time limit: handed to the engine, never hashed. */
  timeoutMs?: number;
  /**
   * Keep every step's output as the step wrote it: kiln's normalization of archives is off
   * (`kiln check --raw`, which judges the build script on its own). Enters the action key as
   * `normalize: false`, so raw and normalized results never share a cache entry.
   */
  rawOutputs?: boolean;
}

/** `uid:gid` as numbers, or undefined when it is not that shape. */
export function parseUser(user: string): { uid: number; gid: number } | undefined {
  const m = /^(\d+):(\d+)$/.exec(user);
  return m ? { uid: Number(m[1]), gid: Number(m[2]) } : undefined;
}

/** The writable folders every action starts with: its working directory, /kiln/out (the step's user's) and /tmp. */
export function scratchMounts(workdir: string): Mount[] {
  return [
    { path: workdir, source: { kind: 'dir', mode: 0o755 }, writable: true, owner: 'user' },
    { path: KILN_OUT_DIR, source: { kind: 'dir', mode: 0o755 }, writable: true, owner: 'user' },
    { path: '/tmp', source: { kind: 'dir', mode: 0o1777 }, writable: true, owner: 'root' },
  ];
}

/** The profile's limits for one action, in the engine's neutral terms. */
export function actionLimits(context: ActionContext, cpus?: string): EngineAction['limits'] {
  const { profile } = context.profile;
  return {
    ...profile.limits,
    ...(cpus !== undefined && { cpus }),
    ...(context.timeoutMs !== undefined && { timeoutMs: context.timeoutMs }),
  };
}

/** What differs between kiln's own implicit actions (an image's assembly, a clock probe). */
export interface ImplicitActionSpec {
  /** e.g. `image:toolchain`, `clock:base`. */
  name: string;
  image: ImageRef;
  argv: string[];
  /** Variables over the profile's fixed ones. */
  env: Record<string, string>;
  /** `uid:gid`. */
  user: string;
  /** Inputs by name, in the key as a step's are; the caller mounts them (`mounts`). */
  inputs?: ActionKeyMaterial['inputs'];
  mounts: Mount[];
  /** What the engine varies for it, when anything (enters the key as `engine`). */
  engine?: EngineVariation;
  privilege?: EngineAction['privilege'];
  /** Steps will run in the output: the engine may take it in as an image while reading it back. */
  outputImage?: boolean;
}

/**
 * An action kiln itself generates, pure: no needed steps in the key (inputs only when kiln
 * mounts some, as the assembly's package folder), the profile's environment under its own
 * variables, the profile's host and limits, outputs never normalized.
 */
export function planImplicitAction(spec: ImplicitActionSpec, context: ActionContext): PlannedAction {
  const { profile, digest } = context.profile;
  const env = Object.fromEntries(Object.entries({ ...profile.env, ...spec.env }).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const material: ActionKeyMaterial = {
    kiln: ACTION_KEY_FORMAT, image: spec.image, argv: spec.argv, env, user: spec.user, inputs: spec.inputs ?? {}, needs: {},
    sourceDateEpoch: context.sourceDateEpoch, platform: PLATFORM, sandboxProfile: digest, normalize: false,
    ...(spec.engine && { engine: spec.engine }),
  };
  return {
    name: spec.name,
    material,
    actionKey: computeActionKey(material),
    normalize: false,
    implicit: true,
    run: {
      label: spec.name, image: spec.image, argv: spec.argv, env, user: parseUser(spec.user)!,
      workdir: profile.workdir, hostname: profile.hostname, domainname: profile.domainname,
      mounts: spec.mounts, outputPath: KILN_OUT_DIR, limits: actionLimits(context), mtime: context.sourceDateEpoch,
      ...(spec.privilege && { privilege: spec.privilege }),
      ...(spec.outputImage && { outputImage: true }),
    },
  };
}
