import PQueue from 'p-queue';
import type { FetchedInput, Sources } from '../fetch/index.js';
import { clockMethodFromProbe, planClockProbe, planStepAction } from '../plan/index.js';
import type { ActionContext, ClockMethod, ClockShift, ImageIdentity, Plan } from '../plan/index.js';
import type { ImageSpec, Recipe } from '../recipe/index.js';
import { REF, type Store } from '../store/index.js';
import type { Digest } from '../util/digest.js';
import { BuildError } from './errors.js';
import type { BuildReporter } from './events.js';
import type { ActionOutcome, Executor } from './executor.js';

/** Loaded on first use: a build served from the cache never unpacks a rootfs or assembles an image. */
const archive = () => import('../archive/index.js');
const images = () => import('../image/index.js');


export interface BuildGraphOptions {
  recipe: Recipe;
  plan: Plan;
  store: Store;
  fetched: Record<string, FetchedInput>;
  /** Where the .debs of a debian image may come from besides apt: mirrors, the snapshot service. */
  sources: Sources;
  executor: Executor;
  context: ActionContext;
  reporter: BuildReporter;
  /** Steps run at once. */
  jobs: number;
  /** Aborted on the first failure, so nothing new starts. */
  abort: AbortController;
}

/** The outcome of every step and the identity of every image, each computed once, on demand. */
export interface BuildGraph {
  step(name: string): Promise<ActionOutcome>;
  image(spec: ImageSpec): Promise<ImageIdentity>;
  /** How the steps of each image got the shifted clock of `kiln check`'s time variation; empty without one. */
  clocks(): Promise<Record<string, ClockMethod>>;
  /** Waits until nothing runs any more (after a failure). */
  idle(): Promise<void>;
}

/**
 * Schedules a plan: a step runs once the steps it needs and its image are ready, at most `jobs`
 * at a time; images are made when a step first needs one (a rootfs unpacked, a step's output
 * taken, a debian image assembled through the same executor as the steps).
 */
export function createBuildGraph(options: BuildGraphOptions): BuildGraph {
  const { recipe, plan, fetched, executor, context, reporter: report, abort } = options;
  const queue = new PQueue({ concurrency: Math.max(1, options.jobs) });
  const steps = new Map<string, Promise<ActionOutcome>>();
  const imageTrees = new Map<string, Promise<ImageIdentity>>();
  const imageClocks = new Map<string, Promise<ClockMethod>>();

  function step(name: string): Promise<ActionOutcome> {
    let outcome = steps.get(name);
    if (!outcome) {
      outcome = runStep(name);
      steps.set(name, outcome);
      // A failure is reported once, by the caller that awaits the whole build.
      outcome.catch(() => abort.abort());
    }
    return outcome;
  }

  async function runStep(name: string): Promise<ActionOutcome> {
    const planned = plan.steps[name]!;
    await Promise.all(planned.dependsOn.map(step));
    report({ type: 'step-queued', step: name });
    return queue.add(async () => {
      const spec = planned.spec;
      const imageSpec = recipe.images[spec.image]!;
      const needs: Record<string, Digest> = {};
      for (const need of spec.needs) needs[need] = (await step(need)).outputTree;
      const clock = await clockOf(imageSpec);
      const resolved = {
        image: await image(imageSpec),
        shell: imageSpec.shell,
        inputs: Object.fromEntries(spec.inputs.map((n) => [n, fetched[n]!.mount])),
        needs,
        ...(clock?.method === 'libfaketime' && { clock }),
      };
      return executor.execute(planStepAction(planned, resolved, context), { describe: `step "${name}"`, where: spec.where, image: spec.image });
    }) as Promise<ActionOutcome>;
  }

  function image(spec: ImageSpec): Promise<ImageIdentity> {
    let identity = imageTrees.get(spec.name);
    if (!identity) {
      identity = resolveImage(spec);
      imageTrees.set(spec.name, identity);
      identity.catch(() => abort.abort());
    }
    return identity;
  }

  async function resolveImage(spec: ImageSpec): Promise<ImageIdentity> {
    switch (spec.kind) {
      case 'rootfs':
        return { kind: 'tree', tree: await rootfsTree(options, spec.input) };
      case 'step':
        return { kind: 'tree', tree: (await step(spec.step)).outputTree };
      case 'oci':
        return { kind: 'oci', ref: spec.ref };
      case 'debian':
        return { kind: 'tree', tree: await debianImage(options, spec) };
    }
  }

  /** Under a clock shift, the probe of the image (once per build): which libfaketime works there, if any. */
  function clockOf(spec: ImageSpec): Promise<ClockMethod | undefined> {
    const shift = context.variation?.clock;
    if (!shift) return Promise.resolve(undefined);
    let method = imageClocks.get(spec.name);
    if (!method) {
      method = image(spec).then((identity) => probeClock(options, spec, identity, shift));
      imageClocks.set(spec.name, method);
      method.catch(() => abort.abort());
    }
    return method;
  }

  async function clocks(): Promise<Record<string, ClockMethod>> {
    const names = [...imageClocks.keys()].sort();
    const methods = await Promise.all(names.map((n) => imageClocks.get(n)!));
    return Object.fromEntries(names.map((n, i) => [n, methods[i]!]));
  }

  return { step, image, clocks, idle: () => queue.onIdle() };
}

/** A rootfs input as a tree: a folder or an unpacked input already is one; a tarball is unpacked once per digest. */
async function rootfsTree({ store, fetched, recipe }: BuildGraphOptions, inputName: string): Promise<Digest> {
  const mount = fetched[inputName]!.mount;
  if (mount.kind === 'tree') return mount.tree;
  const known = await store.getRef(REF.rootfs, mount.digest);
  if (known) return known;
  try {
    const { digest } = await (await archive()).unpackArchive(store, mount.digest, { label: inputName, links: 'any' });
    await store.setRef(REF.rootfs, mount.digest, digest);
    return digest;
  } catch (err) {
    throw new BuildError('KILN_BUILD_BAD_ROOTFS', `input "${inputName}" is not a root filesystem archive kiln can unpack`, {
      cause: err,
      where: recipe.inputs[inputName]!.where,
    });
  }
}

/** A `debian` image: stage 1 from its pins, then its assembly action (`image:<name>`). */
async function debianImage(options: BuildGraphOptions, spec: Extract<ImageSpec, { kind: 'debian' }>): Promise<Digest> {
  const { store, sources, executor, context, reporter: report, abort } = options;
  const { debianStage1, planDebianAssembly } = await images();
  const label = `image:${spec.name}`;
  const stage1 = await debianStage1(store, spec, {
    signal: abort.signal,
    sources,
    onBase: (base) => executor.prepareImage(base, context.sourceDateEpoch),
    onFetch: (phase, debs) => report(phase === 'start'
      ? { type: 'fetch-start', input: label }
      : { type: 'fetch-done', input: label, cached: debs!.every((d) => d.cached), size: debs!.reduce((n, d) => n + d.size, 0) }),
  });
  const action = planDebianAssembly(spec, stage1, context);
  return (await executor.execute(action, { describe: `assembling image "${spec.name}"`, where: spec.where, image: spec.name })).outputTree;
}

/** Which libfaketime works in an image, found by a probe action run in it. */
async function probeClock({ store, executor, context }: BuildGraphOptions, spec: ImageSpec, identity: ImageIdentity, shift: ClockShift): Promise<ClockMethod> {
  const probe = planClockProbe(spec.name, identity, spec.shell, shift, context);
  const outcome = await executor.execute(probe, { describe: `probing the clock of image "${spec.name}"`, where: spec.where, image: spec.name });
  const entry = (await store.readTree(outcome.outputTree)).entries.find((e) => e.path === 'clock');
  const text = entry?.type === 'file' ? (await store.readBlob(entry.digest)).toString('utf8') : '';
  return clockMethodFromProbe(text, shift);
}
