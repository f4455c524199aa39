import PQueue from 'p-queue';
import type { FetchedInput } from '../fetch/index.js';
import { planStepAction } from '../plan/index.js';
import type { ActionContext, ImageIdentity, Plan } from '../plan/index.js';
import type { ImageSpec, Recipe } from '../recipe/index.js';
import type { Store } from '../store/index.js';
import type { Digest } from '../util/digest.js';
import { BuildError } from './errors.js';
import type { BuildReporter } from './events.js';
import type { ActionOutcome, Executor } from './executor.js';

/** Loaded on first use: a build served from the cache never unpacks a rootfs or assembles an image. */
const archive = () => import('../archive/index.js');
const images = () => import('../image/index.js');

/** Ref namespace: a rootfs tarball's blob → its unpacked tree. */
const REF_ROOTFS = 'rootfs';

export interface BuildGraphOptions {
  recipe: Recipe;
  plan: Plan;
  store: Store;
  fetched: Record<string, FetchedInput>;
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
  /** Waits until nothing runs any more (after a failure). */
  idle(): Promise<void>;
}

/**
 * Schedules a plan: a step runs once the steps it needs and its image are ready, at most `jobs`
 * at a time; images are made when a step first needs one (a rootfs unpacked, a step's output
 * taken, a debian image assembled through the same executor as the steps).
 */
export function createBuildGraph(options: BuildGraphOptions): BuildGraph {
  const { recipe, plan, store, fetched, executor, context, reporter: report, abort } = options;
  const queue = new PQueue({ concurrency: Math.max(1, options.jobs) });
  const steps = new Map<string, Promise<ActionOutcome>>();
  const imageTrees = new Map<string, Promise<ImageIdentity>>();

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
      const resolved = {
        image: await image(imageSpec),
        shell: imageSpec.shell,
        inputs: Object.fromEntries(spec.inputs.map((n) => [n, fetched[n]!.mount])),
        needs,
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
        return { kind: 'tree', tree: await rootfsTree(spec.input) };
      case 'step':
        return { kind: 'tree', tree: (await step(spec.step)).outputTree };
      case 'oci':
        return { kind: 'oci', ref: spec.ref };
      case 'debian':
        return { kind: 'tree', tree: await debianImage(spec) };
    }
  }

  /** A rootfs input as a tree: a folder or an unpacked input already is one; a tarball is unpacked once per digest. */
  async function rootfsTree(inputName: string): Promise<Digest> {
    const mount = fetched[inputName]!.mount;
    if (mount.kind === 'tree') return mount.tree;
    const known = await store.getRef(REF_ROOTFS, mount.digest);
    if (known) return known;
    try {
      const { digest } = await (await archive()).unpackArchive(store, mount.digest, { label: inputName, links: 'any' });
      await store.setRef(REF_ROOTFS, mount.digest, digest);
      return digest;
    } catch (err) {
      throw new BuildError('KILN_BUILD_BAD_ROOTFS', `input "${inputName}" is not a root filesystem archive kiln can unpack`, {
        cause: err,
        where: recipe.inputs[inputName]!.where,
      });
    }
  }

  /** A `debian` image: stage 1 from its pins, then its assembly action (`image:<name>`). */
  async function debianImage(spec: Extract<ImageSpec, { kind: 'debian' }>): Promise<Digest> {
    const { debianStage1, planDebianAssembly } = await images();
    const label = `image:${spec.name}`;
    const stage1 = await debianStage1(store, spec, {
      signal: abort.signal,
      onBase: (base) => executor.prepareImage(base, context.sourceDateEpoch),
      onFetch: (phase, debs) => report(phase === 'start'
        ? { type: 'fetch-start', input: label }
        : { type: 'fetch-done', input: label, cached: debs!.every((d) => d.cached), size: debs!.reduce((n, d) => n + d.size, 0) }),
    });
    const action = planDebianAssembly(spec, stage1, context);
    return (await executor.execute(action, { describe: `assembling image "${spec.name}"`, where: spec.where, image: spec.name })).outputTree;
  }

  return { step, image, idle: () => queue.onIdle() };
}
