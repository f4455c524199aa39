import type { InputMount } from '../fetch/types.js';
import type { ImageRef, Mount } from '../sandbox/types.js';
import { actionLimits, parseUser, PLATFORM, scratchMounts, type ActionContext, type PlannedAction } from './layout.js';
import type { Digest } from '../util/digest.js';
import { ACTION_KEY_FORMAT, computeActionKey, type ActionKeyMaterial } from './action-key.js';
import { KILN_INPUTS_DIR, KILN_OUT_DIR, KILN_STEPS_DIR, KILN_WORK_DIR, NORMALIZE_RULES, type PlannedStep } from './plan.js';
import type { BuildVariation, EngineVariation } from './variation.js';
import { faketimeEnv, injectedFaketimeMount, type ClockMethod } from './clock.js';

/** What a step's action is made of once its dependencies have run. */
export interface StepResolution {
  image: ImageRef;
  /** The image's shell, which runs the script. */
  shell: readonly string[];
  inputs: Record<string, InputMount>;
  /** Output trees of the steps it needs. */
  needs: Record<string, Digest>;
  /** The shifted clock the step's image takes (`time`, when its probe found a libfaketime that works there). */
  clock?: Extract<ClockMethod, { method: 'libfaketime' }>;
}

/**
 * The first line of a gated step's script (`EngineAction.gate`): read stdin to its end, so an
 * engine can place mounts after start and then close it; with an empty stdin it returns at
 * once. `|| :` keeps a shell run with -e going; the variable is unset so `set` shows nothing.
 */
export const GATE_PROLOGUE = 'IFS= read -r kiln_gate || :; unset kiln_gate\n';

/**
 * A step's action, pure: the sandbox layout of the contract (inputs read-only under
 * /kiln/inputs, needed outputs under /kiln/steps, an empty writable working directory and
 * /kiln/out owned by the step's user, /tmp), the key material and the engine's run.
 */
export function planStepAction(step: PlannedStep, resolved: StepResolution, context: ActionContext): PlannedAction {
  const user = step.user ?? step.spec.user;
  const ids = parseUser(user);
  if (!ids) throw new TypeError(`step "${step.name}": user must be "<uid>:<gid>", got "${user}"`);
  const workdir = step.workdir ?? KILN_WORK_DIR;
  const inputs = sortedRecord(resolved.inputs);
  const needs = sortedRecord(resolved.needs);
  const inMemory = context.variation?.mountsInMemory === true && Object.keys(inputs).length + Object.keys(needs).length > 0;
  const engineVariation = toEngineVariation(context.variation, step.workdir, ids, inMemory);
  const argv = [...resolved.shell, inMemory ? GATE_PROLOGUE + step.script : step.script];
  const normalize = step.spec.normalize && !context.rawOutputs;
  const { env, clockMounts } = withClock(step.env, resolved.clock, context);
  const material: ActionKeyMaterial = {
    kiln: ACTION_KEY_FORMAT,
    image: resolved.image,
    argv,
    env,
    user,
    inputs,
    needs,
    sourceDateEpoch: context.sourceDateEpoch,
    platform: PLATFORM,
    sandboxProfile: context.profile.digest,
    normalize: normalize ? NORMALIZE_RULES : false,
    ...(engineVariation && { engine: engineVariation }),
  };
  if (resolved.clock) {
    const injected = resolved.clock.source === 'injected' ? context.variation?.clock?.library : undefined;
    material.engine = { ...material.engine, clock: { offsetSeconds: resolved.clock.offsetSeconds, ...(injected && { library: injected.digest }) } };
  }
  const mounts: Mount[] = [
    ...Object.entries(inputs).map(([n, mount]): Mount => ({ path: `${KILN_INPUTS_DIR}/${n}`, source: mount, writable: false, owner: 'root' })),
    ...Object.entries(needs).map(([n, tree]): Mount => ({ path: `${KILN_STEPS_DIR}/${n}`, source: { kind: 'tree', tree }, writable: false, owner: 'root' })),
    ...clockMounts,
    ...scratchMounts(workdir),
  ];
  // A moved working directory (check's build_path) leaves /kiln/work as a symlink to it:
  // scripts that name the contract path still run, and whatever records the real path
  // (getcwd, a compiler's debug info) shows the move.
  if (step.workdir !== undefined) mounts.push({ path: KILN_WORK_DIR, source: { kind: 'symlink', target: step.workdir }, writable: false, owner: 'root' });
  const { profile } = context.profile;
  return {
    name: step.name,
    material,
    actionKey: computeActionKey(material),
    normalize,
    run: {
      label: step.name,
      image: resolved.image,
      argv,
      env,
      user: ids,
      workdir: engineVariation?.workdir ?? profile.workdir,
      hostname: engineVariation?.hostname ?? profile.hostname,
      domainname: engineVariation?.domainname ?? profile.domainname,
      mounts,
      outputPath: KILN_OUT_DIR,
      ...(engineVariation?.tmpfs && { tmpfs: engineVariation.tmpfs }),
      ...(inMemory && { readOnlyMounts: 'memory' as const, gate: 'stdin' as const }),
      limits: actionLimits(context, engineVariation?.cpusetCpus),
      mtime: context.sourceDateEpoch,
    },
  };
}

/** The step's environment with libfaketime turned on, and the injected library's mount when the image has none. */
function withClock(env: Record<string, string>, clock: StepResolution['clock'], context: ActionContext): { env: Record<string, string>; clockMounts: Mount[] } {
  if (!clock) return { env, clockMounts: [] };
  const library = context.variation?.clock?.library;
  if (clock.source === 'injected' && !library) throw new TypeError('an injected libfaketime needs the library in the variation');
  const merged = { ...env, ...faketimeEnv(clock.library, clock.offsetSeconds, env.LD_PRELOAD) };
  return {
    env: Object.fromEntries(Object.keys(merged).sort().map((k) => [k, merged[k]!])),
    clockMounts: clock.source === 'injected' ? [injectedFaketimeMount(library!)] : [],
  };
}

/**
 * The engine's share of a variation for one step; undefined without one, so a normal build's
 * action key has no `engine` member. The tmpfs mounts are owned by the step's user as the
 * packed working directory would be: only the read order of entries changes.
 */
function toEngineVariation(variation: BuildVariation | undefined, workdir: string | undefined, ids: { uid: number; gid: number }, inMemory: boolean): EngineVariation | undefined {
  if (!variation) return undefined;
  const v: EngineVariation = { ...variation.engine };
  if (inMemory) v.mounts = 'memory';
  if (workdir !== undefined) v.workdir = workdir;
  if (variation.tmpfs) {
    v.tmpfs = { [workdir ?? KILN_WORK_DIR]: `rw,exec,uid=${ids.uid},gid=${ids.gid},mode=0755`, '/tmp': 'rw,exec,mode=1777' };
  }
  return Object.keys(v).length > 0 ? v : undefined;
}

function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(record).sort().map((k) => [k, record[k]!]));
}
