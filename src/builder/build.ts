import { relative } from 'node:path';
import { fetchInputs, resolveSources } from '../fetch/index.js';
import type { FetchedInput, SourceOptions, Sources } from '../fetch/index.js';
import { planBuild, PLATFORM } from '../plan/index.js';
import type { ActionContext, BuildVariation, ImageIdentity, Plan } from '../plan/index.js';
import type { Recipe } from '../recipe/index.js';
import { checkEngineChoice, createEngine, type EngineChoice } from '../sandbox/engine.js';
import { loadSandboxProfile } from '../sandbox/profile.js';
import type { Engine, LoadedSandboxProfile } from '../sandbox/types.js';
import type { RemoteStore } from '../remote-cache/index.js';
import { resolveRemoteCache, type RemoteCacheOptions } from '../remote-cache/settings.js';
import { createStore, REF } from '../store/index.js';
import type { Store } from '../store/index.js';
import { type Digest } from '../util/digest.js';
import { kilnVersion } from '../util/package.js';
import { exportArtifacts } from './artifacts.js';
import type { BuildReporter } from './events.js';
import { createExecutor, type ActionOutcome, type ReusedOutcome, type SharedImplicitActions } from './executor.js';
import { createBuildGraph, type BuildGraph } from './graph.js';
import type { BuildSummary, StepSummary } from './summary.js';
import { BUILD_SUMMARY_FORMAT, writeBuildSummary } from './summary.js';

export { PLATFORM };
export type { BuildVariation };

export interface BuildOptions {
  /** A recipe file, a folder holding `kiln.yaml`, or an already parsed recipe. */
  recipe: string | Recipe;
  /** Where artifacts and build.json go; default `./out`. */
  out?: string;
  /** Refuse to build unless kiln.lock exists and matches the recipe (CI: no silent re-resolution). */
  locked?: boolean;
  /** Run every step even when the action cache has its result. */
  noCache?: boolean;
  /** Steps run at once; default 2. */
  jobs?: number;
  store?: Store;
  /** A ready engine; by default one is created (`createEngine`, KILN_ENGINE) only if an action must run. */
  engine?: Engine;
  /** Which engine to create when `engine` is not given: `--engine`, a remote executor (checked before any work). */
  engineChoice?: EngineChoice;
  profile?: LoadedSandboxProfile;
  reporter?: BuildReporter;
  signal?: AbortSignal;
  /** Per-step time limit (not part of the action key). */
  stepTimeoutMs?: number;
  /**
   * Provenance, SBOM and their signatures, written beside the artifacts. Signed with
   * `signKey` (a PKCS#8 PEM file; default `$KILN_SIGN_KEY`; `false`: never); unsigned statements otherwise.
   * `false`: write none (rebuild and check write their own).
   */
  attest?: false | { signKey?: string | false; builderId?: string; overrides?: Record<string, unknown> };
  /**
   * Keep step outputs as the steps wrote them (kiln's archive normalization off, in the action
   * key too): `kiln check --raw`, which judges the build script rather than kiln's result.
   */
  rawOutputs?: boolean;
  /** Conditions `kiln check` varies; every setting reaches the action key. Absent: the profile's fixed conditions. */
  variation?: BuildVariation;
  /**
   * Results of steps already run in this process by action key, consulted and filled even with
   * `noCache`: `kiln check` shares one between its builds so a step the variation cannot change
   * (same action key) is not built again. Not the store's action cache: nothing here outlives the check.
   */
  reuse?: Map<Digest, ReusedOutcome>;
  /**
   * kiln's own actions (image assembly, clock probes) shared with other builds of this process,
   * consulted and filled even with `noCache`: `kiln check` assembles each image once for all its builds.
   */
  implicitActions?: SharedImplicitActions;
  /**
   * Where pinned bytes may come from besides the store and their upstream: content-addressed
   * mirrors and a Debian snapshot service (docs/mirrors.md). $KILN_MIRRORS and
   * $KILN_DEBIAN_SNAPSHOT are added.
   */
  sources?: SourceOptions;
  /**
   * Bytes of each step's log kept in the store (budget maxLogBytes, default 8 MiB): the first
   * and last halves, with a line saying how much was dropped between. Not part of the action key.
   */
  maxLogBytes?: number;
  /**
   * Whether the recipe's `file:` URLs may be read (a debsrc `dsc`, a git `file://` URL);
   * default true. `kiln rebuild` sets false: someone else's provenance must not read the
   * rebuilder's files (local inputs come only through `--input`).
   */
  allowFileUrls?: boolean;
  /**
   * A shared cache over the Remote Execution API (docs/remote-execution.md, "Shared cache"):
   * steps found there, signed by a trusted key, do not run; results made here and pinned blobs
   * fetched here go up; pinned bytes are looked up there before their upstream.
   * $KILN_REMOTE_CACHE, $KILN_CACHE_TRUST and $KILN_CACHE_SIGN_KEY apply unless `fromEnv: false`.
   */
  remoteCache?: RemoteCacheOptions;
}

/**
 * The recipe → inputs → steps → artifacts path; returns what `build.json` holds. Plan the
 * steps, fetch the inputs, run the graph (each step through the executor: cache or engine),
 * export the artifacts, summarize and attest.
 */
export async function build(options: BuildOptions): Promise<BuildSummary> {
  const startedOn = new Date();
  const report: BuildReporter = options.reporter ?? (() => {});
  const recipe = await loadRecipeFor(options);
  await assertSignKey(options.attest);
  // A bad --mirror or --engine is bad usage: refused before any work.
  const sources = resolveSources(options.sources);
  if (!options.engine) checkEngineChoice(options.engineChoice);
  const remoteCache = resolveRemoteCache(options.remoteCache);
  const local = options.store ?? (await createStore());
  const remote = remoteCache && (await openRemote(remoteCache, local, options, report));
  try {
    return await buildWith(remote ?? local, recipe, remote ? { ...sources, mirrors: [...sources.mirrors, remote.location] } : sources, options, report, startedOn);
  } finally {
    // Refusals and an unreachable server are reported by the store itself; a failed build keeps its own error.
    await remote?.flush().catch(() => undefined);
    remote?.close();
  }
}

/** The store with the shared cache behind it; what it refuses or cannot reach is said as a warning. */
async function openRemote(settings: NonNullable<ReturnType<typeof resolveRemoteCache>>, local: Store, options: BuildOptions, report: BuildReporter): Promise<RemoteStore> {
  const { openRemoteCache, describeRemoteCacheEvent } = await import('../remote-cache/index.js');
  const { resolveSignKey } = await import('../attest/index.js');
  const defaultSignKey = options.attest === false ? undefined : resolveSignKey(options.attest?.signKey);
  const remote = await openRemoteCache(settings, local, {
    ...(defaultSignKey !== undefined && { defaultSignKey }),
    onEvent: (event) => {
      const message = describeRemoteCacheEvent(event);
      if (message !== undefined) report({ type: 'cache-warning', message });
    },
  });
  if (settings.trustServer) report({ type: 'cache-warning', message: `trusting the remote cache ${remote.remote.endpoint}: entries no trusted key signed are used as they are` });
  if (settings.upload && remote.signedBy === undefined) {
    report({ type: 'cache-warning', message: 'results go to the remote cache unsigned (readers accept them only with --trust-remote-cache): sign them with --cache-sign-key or --sign-key' });
  }
  return remote;
}

async function buildWith(store: Store, recipe: Recipe, sources: Sources, options: BuildOptions, report: BuildReporter, startedOn: Date): Promise<BuildSummary> {
  const profile = options.profile ?? (await loadSandboxProfile());
  const plan = planBuild(recipe, profile.profile, options.variation?.plan);
  report({ type: 'plan', steps: plan.order, inputs: Object.keys(recipe.inputs).sort() });

  const fetchStarted = Date.now();
  const fetched = await fetchAll(store, recipe, sources, options, report);
  const fetchMs = Date.now() - fetchStarted;

  const context: ActionContext = {
    profile, sourceDateEpoch: recipe.sourceDateEpoch,
    ...(options.variation && { variation: options.variation }),
    ...(options.stepTimeoutMs !== undefined && { timeoutMs: options.stepTimeoutMs }),
    ...(options.rawOutputs && { rawOutputs: true }),
  };
  const run = await runGraph({ recipe, plan, store, fetched, sources, context, options, report });

  const out = options.out ?? 'out';
  const artifacts = await exportArtifacts(store, recipe, run.outputs, out, recipe.sourceDateEpoch);
  for (const a of artifacts) report({ type: 'artifact', name: a.name, sha256: a.digests.sha256, size: a.size });

  const engine = run.engine ? (await (await run.engine).describe()).version : null;
  const summary: BuildSummary = {
    kiln: BUILD_SUMMARY_FORMAT,
    recipe: { name: recipe.name, ...(recipe.version !== undefined && { version: recipe.version }), file: recipe.file, digest: recipe.digest },
    sourceDateEpoch: recipe.sourceDateEpoch,
    platform: PLATFORM,
    sandboxProfile: profile.digest,
    engine,
    artifacts,
    steps: run.steps,
    inputs: inputSummaries(fetched),
    images: await imageSummaries(recipe, run.graph),
    timings: timings(startedOn, fetchMs),
  };
  if (options.variation?.clock) summary.clocks = await run.graph.clocks();
  if (options.attest !== false) summary.attestations = await attest(out, summary, recipe, store, options.attest);
  await writeBuildSummary(out, summary);
  return summary;
}

async function loadRecipeFor(options: BuildOptions): Promise<Recipe> {
  if (typeof options.recipe !== 'string') return options.recipe;
  return (await import('../lock/index.js')).loadBuildRecipe(options.recipe, { locked: options.locked });
}

/** A bad signing key is bad input: refused before any work, not after the build. */
async function assertSignKey(attest: BuildOptions['attest']): Promise<void> {
  if (attest === false) return;
  const { readSigner, resolveSignKey } = await import('../attest/index.js');
  const keyFile = resolveSignKey(attest?.signKey);
  if (keyFile !== undefined) await readSigner(keyFile);
}

async function fetchAll(store: Store, recipe: Recipe, sources: Sources, options: BuildOptions, report: BuildReporter): Promise<Record<string, FetchedInput>> {
  const specs = Object.values(recipe.inputs);
  for (const spec of specs) report({ type: 'fetch-start', input: spec.name });
  const fetched = await fetchInputs(store, specs, {
    recipeDir: recipe.dir,
    sources,
    ...(options.allowFileUrls === false && { allowFileUrls: false }),
    signal: options.signal,
    onProgress: (input, bytes, total) => report({ type: 'fetch-progress', input, bytes, total }),
  });
  for (const input of Object.values(fetched)) report({ type: 'fetch-done', input: input.name, cached: input.cached, size: input.size });
  return fetched;
}

interface GraphRun {
  graph: BuildGraph;
  outputs: Record<string, Digest>;
  steps: Record<string, StepSummary>;
  /** Set when an action had to run: the engine that ran it. */
  engine?: Promise<Engine>;
}

/** Every step of the plan through one executor; the first failure aborts the rest and is thrown once nothing runs. */
async function runGraph(args: {
  recipe: Recipe; plan: Plan; store: Store; fetched: Record<string, FetchedInput>; sources: Sources; context: ActionContext; options: BuildOptions; report: BuildReporter;
}): Promise<GraphRun> {
  const { recipe, plan, store, fetched, sources, context, options, report } = args;
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const run: Partial<GraphRun> = {};
  const executor = createExecutor({
    store,
    engine: () => (run.engine ??= options.engine ? Promise.resolve(options.engine) : createEngine({ ...options.engineChoice, profile: context.profile.profile })),
    reporter: report,
    signal: abort.signal,
    maxDecompressedBytes: context.profile.profile.limits.decompressedBytes,
    ...(options.maxLogBytes !== undefined && { maxLogBytes: options.maxLogBytes }),
    ...(options.noCache && { noCache: true }),
    ...(options.reuse && { reuse: options.reuse }),
    ...(options.implicitActions && { implicitActions: options.implicitActions }),
  });
  const graph = createBuildGraph({ recipe, plan, store, fetched, sources, executor, context, reporter: report, jobs: options.jobs ?? 2, abort });
  try {
    const outcomes = await Promise.all(plan.order.map((n) => graph.step(n)));
    const images = await Promise.all(plan.order.map((n) => graph.image(recipe.images[plan.steps[n]!.spec.image]!)));
    return {
      ...run,
      graph,
      outputs: Object.fromEntries(plan.order.map((n, i) => [n, outcomes[i]!.outputTree])),
      steps: Object.fromEntries(plan.order.map((n, i) => [n, stepSummary(outcomes[i]!, images[i]!)])),
    };
  } catch (err) {
    abort.abort();
    await graph.idle().catch(() => undefined);
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

function stepSummary(outcome: ActionOutcome, image: ImageIdentity): StepSummary {
  return {
    actionKey: outcome.actionKey,
    outputTree: outcome.outputTree,
    log: outcome.log,
    image: image.kind === 'tree' ? image.tree : image.ref,
    cached: outcome.cached,
    exitCode: outcome.exitCode,
    durationMs: outcome.durationMs,
    ...(outcome.executor && { executor: outcome.executor }),
    ...(outcome.origin && { origin: outcome.origin }),
  };
}

function inputSummaries(fetched: Record<string, FetchedInput>): BuildSummary['inputs'] {
  return Object.fromEntries(
    Object.keys(fetched).sort().map((n) => {
      const f = fetched[n]!;
      return [n, { kind: f.kind, uri: f.uri, digest: f.digest, integrity: f.integrity, size: f.size, cached: f.cached }];
    }),
  );
}

async function imageSummaries(recipe: Recipe, graph: BuildGraph): Promise<BuildSummary['images']> {
  const images: BuildSummary['images'] = {};
  for (const [name, spec] of Object.entries(recipe.images)) {
    const identity = await graph.image(spec);
    images[name] = identity.kind === 'tree' ? { kind: spec.kind, tree: identity.tree } : { kind: 'oci', ref: identity.ref };
  }
  return images;
}

function timings(startedOn: Date, fetchMs: number): BuildSummary['timings'] {
  const finishedOn = new Date();
  return { startedOn: startedOn.toISOString(), finishedOn: finishedOn.toISOString(), durationMs: finishedOn.getTime() - startedOn.getTime(), fetchMs };
}

/** Provenance, SBOM and signatures beside the artifacts; the SBOM is cached by content in the store. */
async function attest(out: string, summary: BuildSummary, recipe: Recipe, store: Store, options: Exclude<BuildOptions['attest'], false>): Promise<NonNullable<BuildSummary['attestations']>> {
  const { attestBuild } = await import('../attest/index.js');
  const attested = await attestBuild(out, summary, recipe, {
    signKey: options?.signKey,
    builderId: options?.builderId,
    overrides: options?.overrides,
    kilnVersion: kilnVersion(),
    sbomCache: {
      get: async (key) => {
        const blob = await store.getRef(REF.sbom, key);
        return blob ? (JSON.parse((await store.readBlob(blob)).toString('utf8')) as object) : undefined;
      },
      set: async (key, sbom) => store.setRef(REF.sbom, key, (await store.putBytes(JSON.stringify(sbom))).digest),
    },
  });
  return { files: attested.files.map((f) => relative(out, f) || f), signed: attested.signed, ...(attested.keyid && { keyid: attested.keyid }) };
}
