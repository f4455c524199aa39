import PQueue from 'p-queue';
import type { PackLayer } from '../archive/index.js';
import { fetchInputs, resolveSources } from '../fetch/index.js';
import type { SourceOptions } from '../fetch/index.js';
import type { FetchedInput } from '../fetch/index.js';
import { computeActionKey, KILN_INPUTS_DIR, KILN_OUT_DIR, KILN_STEPS_DIR, KILN_WORK_DIR, NORMALIZE_RULES, planBuild, stepScript } from '../plan/index.js';
import type { ActionKeyMaterial, ImageIdentity, PlannedStep, PlanVariation } from '../plan/index.js';
import { DEFAULT_SHELL } from '../recipe/index.js';
import type { DebianImageSpec, ImageSpec, Recipe } from '../recipe/index.js';
import { loadSandboxProfile } from '../sandbox/profile.js';
import type { Engine, EngineVariation, LoadedSandboxProfile } from '../sandbox/types.js';
import { createStore } from '../store/index.js';
import type { Store } from '../store/index.js';
import { canonicalJSON } from '../util/canonical-json.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { kilnVersion } from '../util/package.js';
import { relative } from 'node:path';
import { exportArtifacts } from './artifacts.js';
import { BuildError } from './errors.js';
import type { BuildReporter } from './events.js';
import { lastLines, LogSink } from './log.js';
import type { BuildSummary, StepSummary } from './summary.js';
import { BUILD_SUMMARY_FORMAT, writeBuildSummary } from './summary.js';

export const PLATFORM = 'linux/amd64';

/** Loaded on first use: a build served from the cache never packs or unpacks anything. */
const archive = () => import('../archive/index.js');

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
  /** A ready engine; by default the Docker engine is created lazily, only if a step must run. */
  engine?: Engine;
  profile?: LoadedSandboxProfile;
  reporter?: BuildReporter;
  signal?: AbortSignal;
  /** Per-step time limit (not part of the action key). */
  stepTimeoutMs?: number;
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
   * Provenance, SBOM and their signatures, written beside the artifacts. Signed with
   * `signKey` (a PKCS#8 PEM file; default `$KILN_SIGN_KEY`; `false`: never); unsigned statements otherwise.
   * `false`: write none (rebuild and check write their own).
   */
  attest?: false | { signKey?: string | false; builderId?: string; overrides?: Record<string, unknown> };
  /** Conditions `kiln check` varies; every setting reaches the action key. Absent: the profile's fixed conditions. */
  variation?: BuildVariation;
  /**
   * Results of steps already run in this process by action key, consulted and filled even with
   * `noCache`: `kiln check` shares one between its builds so a step the variation cannot change
   * (same action key) is not built again. Not the store's action cache: nothing here outlives the check.
   */
  reuse?: Map<Digest, { outputTree: Digest; log: Digest }>;
  /**
   * Where pinned bytes may come from besides the store and their upstream: content-addressed
   * mirrors and a Debian snapshot service (docs/mirrors.md). $KILN_MIRRORS and
   * $KILN_DEBIAN_SNAPSHOT are added.
   */
  sources?: SourceOptions;
}

/** A `kiln check` variation, resolved into planner and engine settings. */
export interface BuildVariation {
  plan?: PlanVariation;
  engine?: Pick<EngineVariation, 'hostname' | 'domainname' | 'cpusetCpus'>;
  /** The working directory and /tmp as fresh tmpfs mounts, owned by the step's user (fileordering). */
  tmpfs?: boolean;
}

/** The recipe → inputs → steps → artifacts path; returns what `build.json` holds. */
export async function build(options: BuildOptions): Promise<BuildSummary> {
  const startedOn = new Date();
  const report: BuildReporter = options.reporter ?? (() => {});
  const recipe =
    typeof options.recipe === 'string'
      ? await (await import('../lock/index.js')).loadBuildRecipe(options.recipe, { locked: options.locked })
      : options.recipe;
  if (options.attest !== false) {
    // A bad signing key is bad input: refuse it before any work, not after the build.
    const { readSigner, resolveSignKey } = await import('../attest/index.js');
    const keyFile = resolveSignKey(options.attest?.signKey);
    if (keyFile !== undefined) await readSigner(keyFile);
  }
  // A bad --mirror is bad usage: refused before any work.
  const sources = resolveSources(options.sources);
  const store = options.store ?? (await createStore());
  const profile = options.profile ?? (await loadSandboxProfile());
  const plan = planBuild(recipe, profile.profile, options.variation?.plan);
  const mtime = recipe.sourceDateEpoch;
  report({ type: 'plan', steps: plan.order, inputs: Object.keys(recipe.inputs).sort() });

  const fetchStarted = Date.now();
  const specs = Object.values(recipe.inputs);
  for (const spec of specs) report({ type: 'fetch-start', input: spec.name });
  const fetched: Record<string, FetchedInput> = await fetchInputs(store, specs, {
    recipeDir: recipe.dir,
    sources,
    ...(options.allowFileUrls === false && { allowFileUrls: false }),
    signal: options.signal,
    onProgress: (input, bytes, total) => report({ type: 'fetch-progress', input, bytes, total }),
  });
  for (const input of Object.values(fetched)) report({ type: 'fetch-done', input: input.name, cached: input.cached, size: input.size });
  const fetchMs = Date.now() - fetchStarted;

  // The engine is created on first need: a fully cached build talks to no engine at all.
  let enginePromise: Promise<Engine> | undefined;
  const getEngine = (): Promise<Engine> =>
    (enginePromise ??= options.engine
      ? Promise.resolve(options.engine)
      : import('../sandbox/docker.js').then((m) => m.createDockerEngine({ profile: profile.profile })));

  const rootfsTrees = new Map<string, Promise<Digest>>();
  const outputs = new Map<string, Promise<Digest>>();
  const stepSummaries: Record<string, StepSummary> = {};
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const queue = new PQueue({ concurrency: Math.max(1, options.jobs ?? 2) });

  /** The content identity of an image: what the action key hashes. */
  const imageIdentity = async (spec: ImageSpec): Promise<ImageIdentity> => {
    switch (spec.kind) {
      case 'rootfs':
        return { kind: 'tree', tree: await rootfsTree(spec.input) };
      case 'step':
        return { kind: 'tree', tree: await runStep(spec.step) };
      case 'oci':
        return { kind: 'oci', ref: spec.ref };
      case 'debian':
        return { kind: 'tree', tree: await debianImage(spec) };
    }
  };

  /** Unpacked once per tarball digest: the ref makes later builds skip reading the archive at all. */
  const unpackRootfs = async (blob: Digest, label: string): Promise<Digest> => {
    const known = await store.getRef('rootfs', blob);
    if (known) return known;
    const { digest } = await (await archive()).unpackArchive(store, blob, { label, links: 'any' });
    await store.setRef('rootfs', blob, digest);
    return digest;
  };

  /** A rootfs input as a tree: a folder or an unpacked input already is one; a tarball is unpacked here. */
  const rootfsTree = (inputName: string): Promise<Digest> => {
    let tree = rootfsTrees.get(inputName);
    if (!tree) {
      const mount = fetched[inputName]!.mount;
      tree =
        mount.kind === 'tree'
          ? Promise.resolve(mount.tree)
          : unpackRootfs(mount.digest, inputName).then(
              (t) => t,
              (err: unknown) => {
                throw new BuildError('KILN_BUILD_BAD_ROOTFS', `input "${inputName}" is not a root filesystem archive kiln can unpack`, {
                  cause: err,
                  where: recipe.inputs[inputName]!.where,
                });
              },
            );
      rootfsTrees.set(inputName, tree);
    }
    return tree;
  };

  /**
   * A `debian` image: its configured root filesystem, made by an implicit step (`image:<name>`)
   * that runs before the steps using it. Once per image per build; cached by its action key.
   */
  const debianTrees = new Map<string, Promise<Digest>>();
  const debianImage = (spec: DebianImageSpec): Promise<Digest> => {
    let tree = debianTrees.get(spec.name);
    if (!tree) {
      tree = assembleDebianImage(spec);
      debianTrees.set(spec.name, tree);
      tree.catch(() => abort.abort());
    }
    return tree;
  };

  const assembleDebianImage = async (spec: DebianImageSpec): Promise<Digest> => {
    const image = await import('../image/index.js');
    const stepName = `image:${spec.name}`;
    const exception = profile.profile.exceptions?.[image.DEBIAN_ASSEMBLY_EXCEPTION];
    if (!exception) {
      throw new BuildError('KILN_BUILD_BAD_ROOTFS', `image "${spec.name}": the sandbox profile grants no "${image.DEBIAN_ASSEMBLY_EXCEPTION}" exception, which assembling a debian image needs`, { where: spec.where });
    }
    // The stage-1 tree is a pure function of the pins: found by them, nothing is fetched or unpacked.
    const stage1Key = sha256Digest(canonicalJSON({ kiln: 'debian-stage1/v1', pins: spec.pins.map((p) => [p.package, p.version, p.arch, p.integrity, p.required]) }));
    let stage1 = await store.getRef('debian-stage1', stage1Key);
    if (!stage1 || !(await store.has(stage1))) {
      report({ type: 'fetch-start', input: stepName });
      const debs = await image.fetchDebianPackages(store, spec.pins, { signal: abort.signal, sources, image: spec.name });
      report({ type: 'fetch-done', input: stepName, cached: debs.every((d) => d.cached), size: debs.reduce((n, d) => n + d.size, 0) });
      stage1 = await image.debianStage1Tree(store, debs, { label: `image "${spec.name}"` });
      await store.setRef('debian-stage1', stage1Key, stage1);
    }
    const env = Object.fromEntries(
      Object.entries({ ...profile.profile.env, SOURCE_DATE_EPOCH: String(recipe.sourceDateEpoch), KILN_OUT: KILN_OUT_DIR }).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    const argv = [...DEFAULT_SHELL, stepScript(profile.profile, image.DEBIAN_ASSEMBLY_SCRIPT)];
    const identity: ImageIdentity = { kind: 'tree', tree: stage1 };
    // The exception's user and capabilities are in the profile digest; the user is also here.
    const material: ActionKeyMaterial = {
      kiln: 'action-key/v1', image: identity, argv, env, user: exception.user, inputs: {}, needs: {},
      sourceDateEpoch: recipe.sourceDateEpoch, platform: PLATFORM, sandboxProfile: profile.digest, normalize: false,
    };
    const actionKey = computeActionKey(material);
    const reused = options.reuse?.get(actionKey);
    if (reused) return reused.outputTree;
    if (!options.noCache) {
      const hit = await store.getAction(actionKey);
      if (hit) {
        report({ type: 'step-cached', step: stepName, actionKey });
        return hit.outputTree;
      }
    }
    const engine = await getEngine();
    const { ingestTar, packLayers } = await archive();
    const engineImage = await ensureImage(engine, spec.name, identity);
    const layers: PackLayer[] = [
      { prefix: KILN_WORK_DIR.slice(1), source: { kind: 'dir', mode: 0o755 }, uid: 0, gid: 0, readOnly: false },
      { prefix: 'kiln/out', source: { kind: 'dir', mode: 0o755 }, uid: 0, gid: 0, readOnly: false },
      { prefix: 'tmp', source: { kind: 'dir', mode: 0o1777 }, uid: 0, gid: 0, readOnly: false },
    ];
    report({ type: 'step-start', step: stepName, actionKey });
    const log = new LogSink(store, (stream, line) => report({ type: 'log', step: stepName, stream, line }), { maxBytes: options.maxLogBytes });
    let outputTree: Digest | undefined;
    let run;
    try {
      run = await engine.runStep({
        step: stepName,
        image: engineImage,
        argv,
        env,
        user: exception.user,
        exception: image.DEBIAN_ASSEMBLY_EXCEPTION,
        input: () => packLayers(store, layers, { mtime }),
        onOutput: (chunk, stream) => log.write(chunk, stream),
        // Not normalized: a root filesystem's .gz files are package content, not build output.
        collect: async (tar) => {
          outputTree = (await ingestTar(store, tar, { label: stepName, strip: 'out', links: 'any' })).digest;
        },
        signal: abort.signal,
        timeoutMs: options.stepTimeoutMs,
      });
    } catch (err) {
      await log.close().catch(() => undefined);
      report({ type: 'step-failed', step: stepName, reason: (err as Error).message });
      throw err;
    }
    const logDigest = await log.close();
    if (run.exitCode !== 0 || !outputTree) {
      const reason = run.killed ? `killed (${run.killed})` : `exit code ${run.exitCode}`;
      report({ type: 'step-failed', step: stepName, exitCode: run.exitCode, reason });
      throw new BuildError('KILN_BUILD_STEP_FAILED', `assembling image "${spec.name}" failed: ${reason}`, { step: stepName, logTail: lastLines(log.text(), 20), where: spec.where });
    }
    options.reuse?.set(actionKey, { outputTree, log: logDigest });
    await store.putAction(actionKey, { kiln: 'action/v1', outputTree, log: logDigest, exitCode: 0, durationMs: run.durationMs, createdAt: new Date().toISOString() });
    report({ type: 'step-done', step: stepName, durationMs: run.durationMs, outputTree });
    return outputTree;
  };

  const runStep = (name: string): Promise<Digest> => {
    let result = outputs.get(name);
    if (!result) {
      const step = plan.steps[name]!;
      result = (async () => {
        await Promise.all(step.dependsOn.map(runStep));
        report({ type: 'step-queued', step: name });
        return queue.add(() => executeStep(step)) as Promise<Digest>;
      })();
      outputs.set(name, result);
      // A failure is reported once, by the caller that awaits the whole build.
      result.catch(() => abort.abort());
    }
    return result;
  };

  const executeStep = async (step: PlannedStep): Promise<Digest> => {
    if (abort.signal.aborted) throw new BuildError('KILN_BUILD_ABORTED', `step "${step.name}" not started: the build was aborted`, { step: step.name });
    const spec = step.spec;
    const imageSpec = recipe.images[spec.image]!;
    const image = await imageIdentity(imageSpec);
    const needs: Record<string, Digest> = {};
    for (const need of [...spec.needs].sort()) needs[need] = await runStep(need);
    const inputs = Object.fromEntries([...spec.inputs].sort().map((n) => [n, fetched[n]!.mount]));
    const argv = [...imageSpec.shell, step.script];
    const user = step.user ?? spec.user;
    const { uid, gid } = parseUser(user, step.name, spec.where);
    const workdir = step.workdir ?? KILN_WORK_DIR;
    const engineVariation = toEngineVariation(options.variation, step.workdir, uid, gid);
    const material: ActionKeyMaterial = {
      kiln: 'action-key/v1',
      image,
      argv,
      env: step.env,
      user,
      inputs,
      needs,
      sourceDateEpoch: recipe.sourceDateEpoch,
      platform: PLATFORM,
      sandboxProfile: profile.digest,
      normalize: spec.normalize ? NORMALIZE_RULES : false,
      ...(engineVariation && { engine: engineVariation }),
    };
    const actionKey = computeActionKey(material);
    const imageLabel = image.kind === 'tree' ? image.tree : image.ref;

    const reused = options.reuse?.get(actionKey);
    if (reused) {
      report({ type: 'step-cached', step: step.name, actionKey });
      stepSummaries[step.name] = { actionKey, outputTree: reused.outputTree, log: reused.log, image: imageLabel, cached: true, exitCode: 0, durationMs: 0 };
      return reused.outputTree;
    }

    if (!options.noCache) {
      const hit = await store.getAction(actionKey);
      if (hit) {
        report({ type: 'step-cached', step: step.name, actionKey });
        stepSummaries[step.name] = {
          actionKey, outputTree: hit.outputTree, log: hit.log, image: imageLabel, cached: true, exitCode: hit.exitCode, durationMs: 0,
        };
        return hit.outputTree;
      }
    }

    const engine = await getEngine();
    const { ingestTar, normalizeTree, packLayers } = await archive();
    const engineImage = await ensureImage(engine, spec.image, image);
    // Tree manifests are read here, once; packing streams file contents from the store.
    const treeSource = async (tree: Digest): Promise<PackLayer['source']> => ({ kind: 'tree', manifest: await store.readTree(tree) });
    const layers: PackLayer[] = [
      ...(await Promise.all(
        Object.entries(inputs).map(async ([n, mount]): Promise<PackLayer> => ({
          prefix: `${KILN_INPUTS_DIR.slice(1)}/${n}`,
          source: mount.kind === 'tree' ? await treeSource(mount.tree) : { kind: 'file', digest: mount.digest, size: mount.size, executable: mount.executable },
          uid: 0, gid: 0, readOnly: true,
        })),
      )),
      ...(await Promise.all(
        Object.entries(needs).map(async ([n, tree]): Promise<PackLayer> => ({
          prefix: `${KILN_STEPS_DIR.slice(1)}/${n}`, source: await treeSource(tree), uid: 0, gid: 0, readOnly: true,
        })),
      )),
      { prefix: workdir.slice(1), source: { kind: 'dir', mode: 0o755 }, uid, gid, readOnly: false },
      { prefix: 'kiln/out', source: { kind: 'dir', mode: 0o755 }, uid, gid, readOnly: false },
      { prefix: 'tmp', source: { kind: 'dir', mode: 0o1777 }, uid: 0, gid: 0, readOnly: false },
    ];
    if (step.workdir !== undefined) {
      // A moved working directory (check's build_path) leaves /kiln/work as a symlink to it:
      // scripts that name the contract path still run, and whatever records the real path
      // (getcwd, a compiler's debug info) shows the move.
      layers.push({ prefix: 'kiln', source: { kind: 'tree', manifest: { kiln: 'tree/v1', entries: [{ path: 'work', type: 'symlink', target: step.workdir }] } }, uid: 0, gid: 0, readOnly: false });
    }

    report({ type: 'step-start', step: step.name, actionKey });
    const log = new LogSink(store, (stream, line) => report({ type: 'log', step: step.name, stream, line }), { maxBytes: options.maxLogBytes });
    let outputTree: Digest | undefined;
    let run;
    try {
      run = await engine.runStep({
        step: step.name,
        image: engineImage,
        argv,
        env: step.env,
        user,
        ...(engineVariation && { variation: engineVariation }),
        input: () => packLayers(store, layers, { mtime }),
        onOutput: (chunk, stream) => log.write(chunk, stream),
        collect: async (tar) => {
          const ingested = await ingestTar(store, tar, { label: step.name, strip: 'out', links: 'any' });
          outputTree = spec.normalize
            ? (await normalizeTree(store, ingested.manifest, { sourceDateEpoch: recipe.sourceDateEpoch, maxDecompressedBytes: profile.profile.maxDecompressedBytes, label: step.name })).digest
            : ingested.digest;
        },
        signal: abort.signal,
        timeoutMs: options.stepTimeoutMs,
      });
    } catch (err) {
      await log.close().catch(() => undefined);
      report({ type: 'step-failed', step: step.name, reason: (err as Error).message });
      throw err;
    }
    const logDigest = await log.close();
    if (run.exitCode !== 0 || !outputTree) {
      const tail = lastLines(log.text(), 20);
      const reason = run.killed ? `killed (${run.killed})` : `exit code ${run.exitCode}`;
      report({ type: 'step-failed', step: step.name, exitCode: run.exitCode, reason });
      throw new BuildError('KILN_BUILD_STEP_FAILED', `step "${step.name}" failed: ${reason}`, {
        step: step.name,
        logTail: tail,
        where: spec.where,
        hint: networkHint(tail),
      });
    }
    options.reuse?.set(actionKey, { outputTree, log: logDigest });
    await store.putAction(actionKey, {
      kiln: 'action/v1', outputTree, log: logDigest, exitCode: 0, durationMs: run.durationMs, createdAt: new Date().toISOString(),
    });
    stepSummaries[step.name] = {
      actionKey, outputTree, log: logDigest, image: imageLabel, cached: false, exitCode: 0, durationMs: run.durationMs,
    };
    report({ type: 'step-done', step: step.name, durationMs: run.durationMs, outputTree });
    return outputTree;
  };

  const engineImages = new Map<string, Promise<string>>();
  const ensureImage = (engine: Engine, name: string, image: ImageIdentity): Promise<string> => {
    const id = image.kind === 'tree' ? image.tree : image.ref;
    let ref = engineImages.get(id);
    if (!ref) {
      ref =
        image.kind === 'tree'
          ? Promise.all([store.readTree(image.tree), archive()]).then(([manifest, { writeTreeTar }]) =>
              engine.ensureTreeImage(image.tree, () => writeTreeTar(store, manifest, { mtime })),
            )
          : engine.ensureOciImage(image.ref);
      report({ type: 'image', image: name, action: image.kind === 'tree' ? 'import' : 'pull' });
      engineImages.set(id, ref);
    }
    return ref;
  };

  let stepOutputs: Record<string, Digest>;
  try {
    const digests = await Promise.all(plan.order.map(runStep));
    stepOutputs = Object.fromEntries(plan.order.map((n, i) => [n, digests[i]!]));
  } catch (err) {
    abort.abort();
    await queue.onIdle().catch(() => undefined);
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort);
  }

  const out = options.out ?? 'out';
  const artifacts = await exportArtifacts(store, recipe, stepOutputs, out, mtime);
  for (const a of artifacts) report({ type: 'artifact', name: a.name, sha256: a.digests.sha256, size: a.size });

  const images: BuildSummary['images'] = {};
  for (const [name, spec] of Object.entries(recipe.images)) {
    const identity = await imageIdentity(spec);
    images[name] = identity.kind === 'tree' ? { kind: spec.kind, tree: identity.tree } : { kind: 'oci', ref: identity.ref };
  }
  const finishedOn = new Date();
  const summary: BuildSummary = {
    kiln: BUILD_SUMMARY_FORMAT,
    recipe: { name: recipe.name, ...(recipe.version !== undefined && { version: recipe.version }), file: recipe.file, digest: recipe.digest },
    sourceDateEpoch: recipe.sourceDateEpoch,
    platform: PLATFORM,
    sandboxProfile: profile.digest,
    engine: enginePromise ? (await (await getEngine()).info()).version : null,
    artifacts,
    steps: Object.fromEntries(plan.order.map((n) => [n, stepSummaries[n]!])),
    inputs: Object.fromEntries(
      Object.keys(fetched).sort().map((n) => {
        const f = fetched[n]!;
        return [n, { kind: f.kind, uri: f.uri, digest: f.digest, integrity: f.integrity, size: f.size, cached: f.cached }];
      }),
    ),
    images,
    timings: {
      startedOn: startedOn.toISOString(),
      finishedOn: finishedOn.toISOString(),
      durationMs: finishedOn.getTime() - startedOn.getTime(),
      fetchMs,
    },
  };
  if (options.attest !== false) {
    const { attestBuild } = await import('../attest/index.js');
    const attested = await attestBuild(out, summary, recipe, {
      signKey: options.attest?.signKey,
      builderId: options.attest?.builderId,
      overrides: options.attest?.overrides,
      kilnVersion: kilnVersion(),
      sbomCache: {
        get: async (key) => {
          const blob = await store.getRef('sbom', key);
          return blob ? (JSON.parse((await store.readBlob(blob)).toString('utf8')) as object) : undefined;
        },
        set: async (key, sbom) => store.setRef('sbom', key, (await store.putBytes(JSON.stringify(sbom))).digest),
      },
    });
    summary.attestations = { files: attested.files.map((f) => relative(out, f) || f), signed: attested.signed, ...(attested.keyid && { keyid: attested.keyid }) };
  }
  await writeBuildSummary(out, summary);
  return summary;
}

/**
 * The engine's share of a variation for one step; undefined without one, so a normal build's
 * action key has no `engine` member. The tmpfs mounts are owned by the step's user as the
 * packed working directory would be: only the read order of entries changes.
 */
function toEngineVariation(variation: BuildVariation | undefined, workdir: string | undefined, uid: number, gid: number): EngineVariation | undefined {
  if (!variation) return undefined;
  const v: EngineVariation = { ...variation.engine };
  if (workdir !== undefined) v.workdir = workdir;
  if (variation.tmpfs) {
    v.tmpfs = { [workdir ?? KILN_WORK_DIR]: `rw,exec,uid=${uid},gid=${gid},mode=0755`, '/tmp': 'rw,exec,mode=1777' };
  }
  return Object.keys(v).length > 0 ? v : undefined;
}

function parseUser(user: string, step: string, where: Recipe['steps'][string]['where']): { uid: number; gid: number } {
  const m = /^(\d+):(\d+)$/.exec(user);
  if (!m) throw new BuildError('KILN_BUILD_BAD_USER', `step "${step}": user must be "<uid>:<gid>", got "${user}"`, { where });
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

const NETWORK_FAILURE = /(bad address|could not resolve|name resolution|network is unreachable|ENETUNREACH|EAI_AGAIN|ENOTFOUND|connection refused|no route to host|unknown host|Temporary failure)/i;

/** Steps have no network by design; when the log looks like it wanted some, say so. */
function networkHint(tail: string[]): string | undefined {
  return tail.some((l) => NETWORK_FAILURE.test(l))
    ? 'the step tried to use the network: steps run with no network at all (NetworkMode none). Declare what it downloads as a pinned input instead.'
    : undefined;
}

