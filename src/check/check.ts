import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import PQueue from 'p-queue';
import type { BuildVariation } from '../builder/index.js';
import type { BuildSummary } from '../builder/summary.js';
import { build, shareImplicitActions, type ReusedOutcome } from '../builder/index.js';
import { loadBuildRecipe } from '../lock/index.js';
import { IMAGE_FAKETIME_PATHS } from '../plan/index.js';
import type { Recipe } from '../recipe/index.js';
import { createEngine, type EngineChoice } from '../sandbox/engine.js';
import { loadSandboxProfile } from '../sandbox/profile.js';
import type { Engine, EngineFeature, LoadedSandboxProfile } from '../sandbox/types.js';
import type { RemoteCacheOptions } from '../remote-cache/index.js';
import { createStore, type Store } from '../store/index.js';
import type { Digest } from '../util/digest.js';
import { isKilnError } from '../util/errors.js';
import { differingArtifacts, minimizeSubset } from './compare.js';
import { CheckError } from './errors.js';
import {
  checkToken, loadVariations, selectVariations, TIME_VARIATION, toBuildVariation, unavailableReason, variationMethod,
  type Variation, type VariationMeans,
} from './variations.js';

export const CHECK_FORMAT = 'check/v1';

export interface CheckOptions {
  /** A recipe file, a folder holding `kiln.yaml` (pinned from kiln.lock beside it, as `kiln build` does), or a parsed recipe. */
  recipe: string | Recipe;
  /** Refuse to check unless kiln.lock exists and matches the recipe (`--locked`, as for `kiln build`). */
  locked?: boolean;
  /**
   * Compare the outputs as the steps wrote them, before kiln's normalization (`--raw`): the
   * verdict on the build script itself (mtimes in archives, gzip headers, modes from the
   * umask), for its maintainer. Default: the outputs kiln keeps, the verdict a kiln rebuilder gets.
   */
  raw?: boolean;
  /** Names of the variations to try; default every one of the set. */
  variations?: string[];
  /** The variation set; default sandbox/variations.yaml. */
  variationsFile?: string;
  /** Where the builds go when kept (`<keep>/<label>/`); default a temp folder, removed at the end. */
  keep?: string;
  /** Builds run at once; default 2. */
  jobs?: number;
  store?: Store;
  engine?: Engine;
  /** Which engine to create when `engine` is not given (`--engine`, a remote executor). */
  engineChoice?: EngineChoice;
  profile?: LoadedSandboxProfile;
  reporter?: (event: CheckEvent) => void;
  /** CPUs of the engine's host, for `num_cpus` (default: this machine's). */
  hostCpus?: number;
  /** Bisection builds at most (default 2 × the variations tried). */
  bisectBudget?: number;
  /**
   * A libfaketime.so.1 to inject into images that have none, for `time`'s shifted clock
   * (default: $KILN_LIBFAKETIME, else this host's Debian copy when the `libfaketime` package is
   * installed); `false`: inject none (images without their own get the later run only).
   */
  libfaketime?: string | false;
  /**
   * A shared cache (docs/remote-execution.md): every build of a check runs every step, so only
   * its CAS serves here, as a source of pinned inputs; nothing is looked up in its action cache
   * and nothing goes up ($KILN_REMOTE_CACHE applies the same way).
   */
  remoteCache?: RemoteCacheOptions;
}

export type CheckEvent =
  | { type: 'phase'; phase: 'controls' | 'experiment' | 'singles' | 'bisect' }
  | { type: 'build-start'; label: string }
  | { type: 'build-done'; label: string; ok: boolean; durationMs: number; reused: number };

/** One build of a check: its label, the variations applied, and its summary (or why it failed). */
export interface CheckBuild {
  label: string;
  variations: string[];
  dir: string;
  summary?: BuildSummary;
  error?: { code?: string; message: string };
  /** When the build started, ms since the epoch. */
  startedAt: number;
  /** The error as thrown, for a control's failure to surface unchanged. */
  thrown?: unknown;
}

export type VariationVerdict = 'same' | 'differs' | 'skipped';

export interface VariationResult {
  name: string;
  description: string;
  supported: boolean;
  verdict: VariationVerdict;
  /** How it was applied here (`variationMethod`): e.g. `libfaketime+later-run`, or `later-run` where no image could take libfaketime. */
  method?: string;
  /** What limited the method (an image without libfaketime, an engine without in-memory mounts). */
  methodDetail?: string;
  /** Artifacts this variation alone changes. */
  differing: string[];
  /** Why it was skipped, or what hid a result (an artifact that changes with the time of the run). */
  reason?: string;
  /** Artifacts it could not be tested on: they change with the time of the run anyway. */
  masked?: string[];
  /** The build under this variation failed: a sensitivity too. */
  error?: { code?: string; message: string };
  /** Differing members by artifact, filled by `diffCheck`. */
  members?: Record<string, string[]>;
}

/** A variation (or a set of them, when only together they change something) and what it changes. */
export interface Culprit {
  variations: string[];
  artifacts: string[];
  /** The build that shows it, compared with `against`. */
  build: string;
  against: string;
  /** Differing members and difference classes by artifact, filled by `diffCheck`. */
  members?: Record<string, string[]>;
  classes?: Record<string, Partial<Record<string, number>>>;
}

/** What a check compares: the outputs kiln keeps (`normalized`) or the outputs as the steps wrote them (`raw`). */
export type CheckMode = 'normalized' | 'raw';

export interface CheckResult {
  kiln: typeof CHECK_FORMAT;
  recipe: { name: string; version?: string; file: string; digest: Digest };
  mode: CheckMode;
  verdict: 'reproducible' | 'not-deterministic' | 'sensitive';
  controls: { identical: boolean; artifacts: Array<{ name: string; sha256: string }>; differing: string[]; members?: Record<string, string[]> };
  experiment: { variations: string[]; verdict: 'same' | 'differs'; differing: string[]; error?: { code?: string; message: string } };
  variations: VariationResult[];
  culprits: Culprit[];
  /** Artifacts that differ under the experiment that no tried variation, alone or combined, explains. */
  unexplained: string[];
  variationSet: { file: string; digest: Digest };
  sandboxProfile: Digest;
  builds: number;
  timings: { startedOn: string; finishedOn: string; durationMs: number };
}

/** The check and the builds it ran (for diff reports); `cleanup` removes the temp builds. */
export interface CheckRun {
  result: CheckResult;
  builds: Map<string, CheckBuild>;
  store: Store;
  cleanup: () => Promise<void>;
}

/** How far after the controls the later builds start: a time of day with second resolution must change. */
const LATER_MS = 2000;

/** Everything the phases of one check share. */
interface CheckContext {
  recipe: Recipe;
  selected: Variation[];
  /** Selected and runnable here; `time` apart from the settings. */
  runnable: Variation[];
  settingVariations: Variation[];
  timeSelected: boolean;
  host: { cpus: number; features?: readonly EngineFeature[] };
  jobs: number;
  builds: Map<string, CheckBuild>;
  /** Step results by action key, shared by the varied builds (never by the controls or `time`). */
  reuse: Map<Digest, ReusedOutcome>;
  report: (event: CheckEvent) => void;
  runBuild: (label: string, variations: Variation[], opts: { reuse: boolean }) => Promise<CheckBuild>;
  means: VariationMeans;
}

/** What the controls (and the experiment) showed. */
interface ControlsOutcome {
  control: BuildSummary;
  startedAt: number;
  controlsDiffer: string[];
  experiment: CheckBuild;
  experimentDiffers: string[];
}

/** What the single-variation builds and the bisection attributed. */
interface Attribution {
  results: Map<string, VariationResult>;
  culprits: Culprit[];
  unexplained: string[];
}

/**
 * Builds the recipe with no cache twice as controls (concurrently, on one second boundary),
 * then once with every variation applied at once (later in real time). If the experiment
 * differs, each variation alone, then bisection for what no single one explains. Pure
 * attribution over build summaries; every build is `noCache`, unattested, in its own folder,
 * sharing one store. A failing control is the build's own failure and is thrown.
 */
export async function runCheck(options: CheckOptions): Promise<CheckRun> {
  const startedOn = new Date();
  const recipe = typeof options.recipe === 'string' ? await loadBuildRecipe(options.recipe, { locked: options.locked }) : options.recipe;
  if (recipe.artifacts.length === 0) throw new CheckError('KILN_CHECK_NO_ARTIFACTS', `recipe ${recipe.file} declares no artifacts: nothing to compare`, { where: { file: recipe.file } });
  const set = await loadVariations(options.variationsFile);
  const store = options.store ?? (await createStore());
  const profile = options.profile ?? (await loadSandboxProfile());
  // One engine for every build: an image is imported once, and the controls stay in step.
  const engine = options.engine ?? (await createEngine({ ...options.engineChoice, profile: profile.profile }));
  const root = options.keep ? resolve(options.keep) : await mkdtemp(join(tmpdir(), 'kiln-check-'));
  await mkdir(root, { recursive: true });
  const cleanup = options.keep ? async () => {} : () => rm(root, { recursive: true, force: true });
  const selected = selectVariations(set, options.variations);
  const means: VariationMeans = {
    memoryMounts: engine.features?.includes('mounts-in-memory') ?? false,
    ...(selected.some((v) => v.apply.faketime !== undefined) && await injectableFaketime(store, options.libfaketime)),
  };
  const ctx = checkContext(options, recipe, selected, { store, engine, profile, root, means });
  try {
    const controls = await runControls(ctx);
    const attribution = controls.experimentDiffers.length === 0 ? allSame(ctx) : await attribute(ctx, controls, options.bisectBudget);
    const finishedOn = new Date();
    const result: CheckResult = {
      kiln: CHECK_FORMAT,
      recipe: { name: recipe.name, ...(recipe.version !== undefined && { version: recipe.version }), file: recipe.file, digest: recipe.digest },
      mode: options.raw ? 'raw' : 'normalized',
      verdict: controls.controlsDiffer.length > 0 ? 'not-deterministic' : controls.experimentDiffers.length > 0 ? 'sensitive' : 'reproducible',
      controls: {
        identical: controls.controlsDiffer.length === 0,
        artifacts: controls.control.artifacts.map((x) => ({ name: x.name, sha256: x.digests.sha256 })),
        differing: controls.controlsDiffer,
      },
      experiment: {
        variations: controls.experiment.variations,
        verdict: controls.experimentDiffers.length > 0 ? 'differs' : 'same',
        differing: controls.experimentDiffers,
        ...(controls.experiment.error && { error: controls.experiment.error }),
      },
      variations: ctx.selected.map((v) => withMethod(ctx, attribution.results.get(v.name)!, v, controls)),
      culprits: attribution.culprits,
      unexplained: attribution.unexplained,
      variationSet: { file: set.file, digest: set.digest },
      sandboxProfile: profile.digest,
      builds: ctx.builds.size,
      timings: { startedOn: startedOn.toISOString(), finishedOn: finishedOn.toISOString(), durationMs: finishedOn.getTime() - startedOn.getTime() },
    };
    return { result, builds: ctx.builds, store, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function checkContext(
  options: CheckOptions,
  recipe: Recipe,
  selected: Variation[],
  env: { store: Store; engine: Engine; profile: LoadedSandboxProfile; root: string; means: VariationMeans },
): CheckContext {
  const report = options.reporter ?? (() => {});
  const jobs = Math.max(1, options.jobs ?? 2);
  const host = { cpus: options.hostCpus ?? availableParallelism(), features: env.engine.features ?? [] };
  const token = checkToken();
  const runnable = selected.filter((v) => unavailableReason(v, host) === undefined);
  const builds = new Map<string, CheckBuild>();
  const reuse = new Map<Digest, ReusedOutcome>();
  // Images are kiln's own work, not the recipe's: assembled once for every build of the check.
  const implicitActions = shareImplicitActions();

  const runBuild = async (label: string, variations: Variation[], opts: { reuse: boolean }): Promise<CheckBuild> => {
    const dir = join(env.root, label);
    const variation: BuildVariation | undefined = variations.length > 0 ? toBuildVariation(variations, token, env.means) : undefined;
    const record: CheckBuild = { label, variations: variations.map((v) => v.name), dir, startedAt: Date.now() };
    builds.set(label, record);
    report({ type: 'build-start', label });
    try {
      record.summary = await build({
        recipe, out: dir, noCache: true, attest: false, store: env.store, engine: env.engine, profile: env.profile, jobs, implicitActions,
        ...(options.raw && { rawOutputs: true }),
        ...(variation && { variation }),
        ...(opts.reuse && { reuse }),
        remoteCache: { ...options.remoteCache, readActions: false, upload: false },
      });
    } catch (err) {
      record.error = { ...(isKilnError(err) && { code: err.code }), message: (err as Error).message };
      record.thrown = err;
    }
    const reused = record.summary ? Object.values(record.summary.steps).filter((s) => s.cached).length : 0;
    report({ type: 'build-done', label, ok: record.summary !== undefined, durationMs: Date.now() - record.startedAt, reused });
    return record;
  };

  return {
    recipe, selected, runnable, host, jobs, builds, reuse, report, runBuild, means: env.means,
    timeSelected: runnable.some((v) => v.name === TIME_VARIATION),
    settingVariations: runnable.filter((v) => v.name !== TIME_VARIATION),
  };
}

/**
 * Controls: the same conditions, the same second. The experiment joins them when `time` is
 * not tried, so that it differs from them only by its settings; otherwise it runs later.
 */
async function runControls(ctx: CheckContext): Promise<ControlsOutcome> {
  ctx.report({ type: 'phase', phase: 'controls' });
  await untilSecondBoundary();
  const first = [ctx.runBuild('control-1', [], { reuse: false }), ctx.runBuild('control-2', [], { reuse: false })];
  if (!ctx.timeSelected) first.push(ctx.runBuild('experiment', ctx.settingVariations, { reuse: false }));
  const [a, b] = await Promise.all(first);
  // A control that fails is the build's own failure (a step failed: exit 1; bad input: 2).
  if (!a!.summary) throw a!.thrown;
  const control = a!.summary;
  for (const s of Object.values(control.steps)) ctx.reuse.set(s.actionKey, { outputTree: s.outputTree, log: s.log });
  const controlsDiffer = differingArtifacts(control, b!.summary);
  const deterministic = new Set(control.artifacts.map((x) => x.name).filter((n) => !controlsDiffer.includes(n)));
  let experiment = ctx.builds.get('experiment');
  if (!experiment) {
    ctx.report({ type: 'phase', phase: 'experiment' });
    await untilSecondBoundary(a!.startedAt + LATER_MS);
    experiment = await ctx.runBuild('experiment', ctx.runnable, { reuse: false });
  }
  const experimentDiffers = differingArtifacts(control, experiment.summary, deterministic);
  return { control, startedAt: a!.startedAt, controlsDiffer, experiment, experimentDiffers };
}

/** The experiment changed nothing: every runnable variation is `same`, the others skipped. */
function allSame(ctx: CheckContext): Attribution {
  const results = skippedResults(ctx);
  for (const v of ctx.runnable) results.set(v.name, { name: v.name, description: v.description, supported: true, verdict: 'same', differing: [] });
  return { results, culprits: [], unexplained: [] };
}

function skippedResults(ctx: CheckContext): Map<string, VariationResult> {
  const results = new Map<string, VariationResult>();
  for (const v of ctx.selected) {
    const reason = unavailableReason(v, ctx.host);
    if (reason !== undefined) results.set(v.name, { name: v.name, description: v.description, supported: v.supported, verdict: 'skipped', differing: [], reason });
  }
  return results;
}

/**
 * Each variation alone. `time` is a plain build run later: it always runs, because every
 * single build runs later than the controls, and what changes with time alone must not be
 * blamed on a setting. Then bisection for what no single variation explains.
 */
async function attribute(ctx: CheckContext, controls: ControlsOutcome, bisectBudget: number | undefined): Promise<Attribution> {
  const { control, experimentDiffers } = controls;
  const results = skippedResults(ctx);
  const culprits: Culprit[] = [];
  ctx.report({ type: 'phase', phase: 'singles' });
  await untilSecondBoundary(controls.startedAt + LATER_MS);
  const queue = new PQueue({ concurrency: ctx.jobs });
  const singles = (await Promise.all([
    queue.add(() => ctx.runBuild('time', ctx.runnable.filter((v) => v.name === TIME_VARIATION), { reuse: false })),
    ...ctx.settingVariations.map((v) => queue.add(() => ctx.runBuild(`only-${v.name}`, [v], { reuse: true }))),
  ])) as CheckBuild[];
  const timeBuild = singles[0]!;
  const timeDiffers = differingArtifacts(control, timeBuild.summary, new Set(experimentDiffers));
  const masked = new Set(timeDiffers);
  const testable = new Set(experimentDiffers.filter((n) => !masked.has(n)));
  if (ctx.timeSelected) {
    const v = ctx.runnable.find((x) => x.name === TIME_VARIATION)!;
    results.set(v.name, {
      name: v.name, description: v.description, supported: true, verdict: timeDiffers.length > 0 ? 'differs' : 'same', differing: timeDiffers,
      ...(timeBuild.error && { error: timeBuild.error }),
    });
    if (timeDiffers.length > 0) culprits.push({ variations: [TIME_VARIATION], artifacts: timeDiffers, build: 'time', against: 'control-1' });
  }
  const explained = new Set(ctx.timeSelected ? timeDiffers : []);
  ctx.settingVariations.forEach((v, i) => {
    const single = singles[i + 1]!;
    const differing = differingArtifacts(control, single.summary, testable);
    for (const n of differing) explained.add(n);
    const maskedHere = [...masked].sort();
    results.set(v.name, {
      name: v.name, description: v.description, supported: true, verdict: differing.length > 0 || single.error ? 'differs' : 'same', differing,
      ...(maskedHere.length > 0 && { masked: maskedHere, reason: 'these artifacts change with the time of the run, so this variation could not be tested on them' }),
      ...(single.error && { error: single.error }),
    });
    if (differing.length > 0) culprits.push({ variations: [v.name], artifacts: differing, build: single.label, against: 'control-1' });
  });
  const rest = [...testable].filter((n) => !explained.has(n));
  const left = rest.length > 0 && ctx.settingVariations.length > 1 ? await bisect(ctx, control, rest, culprits, bisectBudget) : rest;
  return { results, culprits, unexplained: [...left, ...(ctx.timeSelected ? [] : timeDiffers)].sort() };
}

/** The smallest set of variations that, together, changes what no single one explains; adds it to `culprits`, returns what is still unexplained. */
async function bisect(ctx: CheckContext, control: BuildSummary, rest: string[], culprits: Culprit[], budget: number | undefined): Promise<string[]> {
  ctx.report({ type: 'phase', phase: 'bisect' });
  let n = 0;
  const outcomes = new Map<string, string[]>();
  const tryBuild = async (subset: Variation[]): Promise<boolean> => {
    const label = `bisect-${++n}-${subset.map((v) => v.name).join('+')}`;
    const built = await ctx.runBuild(label, subset, { reuse: true });
    const differing = differingArtifacts(control, built.summary, new Set(rest));
    outcomes.set(label, differing);
    return differing.length > 0;
  };
  const minimal = await minimizeSubset(ctx.settingVariations, tryBuild, budget ?? 2 * ctx.settingVariations.length);
  const names = minimal.map((v) => v.name);
  if (minimal.length < ctx.settingVariations.length || outcomes.size === 0) {
    // The last build of exactly this subset shows what it changes; run it if none did.
    let label = [...outcomes.keys()].reverse().find((l) => l.endsWith(`-${names.join('+')}`));
    if (!label) {
      await tryBuild(minimal);
      label = [...outcomes.keys()].pop()!;
    }
    const shown = outcomes.get(label)!;
    if (shown.length === 0) return rest;
    culprits.push({ variations: names, artifacts: shown, build: label, against: 'control-1' });
    return rest.filter((x) => !shown.includes(x));
  }
  // Every variation is needed (or the budget ran out): the experiment itself shows it.
  culprits.push({ variations: names, artifacts: rest, build: 'experiment', against: 'control-1' });
  return [];
}

/** The result with how its variation was applied; `time`'s clocks come from the time build (or the experiment). */
function withMethod(ctx: CheckContext, result: VariationResult, v: Variation, controls: ControlsOutcome): VariationResult {
  if (result.verdict === 'skipped') return result;
  const clocks = ctx.builds.get('time')?.summary?.clocks ?? controls.experiment.summary?.clocks;
  const { method, detail } = variationMethod(v, ctx.means, clocks);
  return { ...result, method, ...(detail !== undefined && { methodDetail: detail }) };
}

/**
 * The libfaketime kiln may inject, in the store: the one named (bad input when unreadable),
 * else $KILN_LIBFAKETIME, else this host's Debian copy if there is one; none for `false`.
 */
async function injectableFaketime(store: Store, option: string | false | undefined): Promise<Pick<VariationMeans, 'faketimeLibrary'>> {
  if (option === false) return {};
  const named = option ?? (process.env.KILN_LIBFAKETIME || undefined);
  const file = named ?? IMAGE_FAKETIME_PATHS.find((p) => existsSync(p));
  if (file === undefined) return {};
  try {
    const put = await store.putFile(file);
    return { faketimeLibrary: { digest: put.digest, size: put.size } };
  } catch (err) {
    throw new CheckError('KILN_CHECK_BAD_LIBFAKETIME', `cannot read the libfaketime to inject: ${file}`, { cause: err, where: { file } });
  }
}

/**
 * Waits until the first whole second at or after `notBefore` (default now): builds started
 * together then run their steps within the same second as far as the engine allows.
 */
async function untilSecondBoundary(notBefore = Date.now()): Promise<void> {
  const target = Math.ceil(Math.max(notBefore, Date.now()) / 1000) * 1000;
  const wait = target - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
