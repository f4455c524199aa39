import PQueue from 'p-queue';
import type { PackLayer } from '../archive/index.js';
import { fetchInputs } from '../fetch/index.js';
import type { FetchedInput } from '../fetch/index.js';
import { computeActionKey, KILN_INPUTS_DIR, KILN_STEPS_DIR, KILN_WORK_DIR, NORMALIZE_RULES, planBuild } from '../plan/index.js';
import type { ActionKeyMaterial, ImageIdentity, PlannedStep, PlanVariation } from '../plan/index.js';
import type { ImageSpec, Recipe } from '../recipe/index.js';
import { loadSandboxProfile } from '../sandbox/profile.js';
import type { Engine, EngineVariation, LoadedSandboxProfile } from '../sandbox/types.js';
import { createStore } from '../store/index.js';
import type { Store } from '../store/index.js';
import type { Digest } from '../util/digest.js';
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
   * Provenance, SBOM and their signatures, written beside the artifacts. Signed with
   * `signKey` (a PKCS#8 PEM file; default `$KILN_SIGN_KEY`); unsigned statements otherwise.
   * `false`: write none (rebuild and check write their own).
   */
  attest?: false | { signKey?: string; builderId?: string; overrides?: Record<string, unknown> };
  /** Conditions `kiln check` varies; every setting reaches the action key. Absent: the profile's fixed conditions. */
  variation?: BuildVariation;
  /**
   * Results of steps already run in this process by action key, consulted and filled even with
   * `noCache`: `kiln check` shares one between its builds so a step the variation cannot change
   * (same action key) is not built again. Not the store's action cache: nothing here outlives the check.
   */
  reuse?: Map<Digest, { outputTree: Digest; log: Digest }>;
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

  const runStep = (name: string): Promise<Digest> => {
    let result = outputs.get(name);
    if (!result) {
      const step = plan.steps[name]!;
      result = (async () => {
        const needs = await Promise.all(step.dependsOn.map(runStep));
        void needs;
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
    const layers: PackLayer[] = [
      ...Object.entries(inputs).map(([n, mount]): PackLayer => ({
        prefix: `${KILN_INPUTS_DIR.slice(1)}/${n}`,
        source: mount.kind === 'tree' ? { kind: 'tree', manifest: undefined as never } : { kind: 'file', digest: mount.digest, size: mount.size, executable: mount.executable },
        uid: 0, gid: 0, readOnly: true,
      })),
      ...Object.keys(needs).map((n): PackLayer => ({
        prefix: `${KILN_STEPS_DIR.slice(1)}/${n}`, source: { kind: 'tree', manifest: undefined as never }, uid: 0, gid: 0, readOnly: true,
      })),
      { prefix: workdir.slice(1), source: { kind: 'dir', mode: 0o755 }, uid, gid, readOnly: false },
      { prefix: 'kiln/out', source: { kind: 'dir', mode: 0o755 }, uid, gid, readOnly: false },
      { prefix: 'tmp', source: { kind: 'dir', mode: 0o1777 }, uid: 0, gid: 0, readOnly: false },
    ];
    // Tree manifests are read once here; packing streams file contents from the store.
    for (const layer of layers) {
      if (layer.source.kind !== 'tree') continue;
      const name = layer.prefix.split('/').pop()!;
      const tree = layer.prefix.startsWith('kiln/inputs/') ? (inputs[name] as { tree: Digest }).tree : needs[name]!;
      layer.source = { kind: 'tree', manifest: await store.readTree(tree) };
    }
    if (step.workdir !== undefined) {
      // A moved working directory (check's build_path) leaves /kiln/work as a symlink to it:
      // scripts that name the contract path still run, and whatever records the real path
      // (getcwd, a compiler's debug info) shows the move.
      layers.push({ prefix: 'kiln', source: { kind: 'tree', manifest: { kiln: 'tree/v1', entries: [{ path: 'work', type: 'symlink', target: step.workdir }] } }, uid: 0, gid: 0, readOnly: false });
    }

    report({ type: 'step-start', step: step.name, actionKey });
    const log = new LogSink(store, (stream, line) => report({ type: 'log', step: step.name, stream, line }));
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
            ? (await normalizeTree(store, ingested.manifest, { sourceDateEpoch: recipe.sourceDateEpoch })).digest
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

