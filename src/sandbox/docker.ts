import { randomBytes } from 'node:crypto';
import { basename, dirname } from 'node:path';
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import Dockerode from 'dockerode';
import { pack as tarPack } from 'tar-stream';
import type { PackLayer, TarMirror } from '../archive/index.js';
import type { Store } from '../store/types.js';
import { digestHex, isDigest, type Digest } from '../util/digest.js';
import { isKilnError } from '../util/errors.js';
import { SandboxError } from './errors.js';
import type { Engine, EngineAction, EngineFeature, EngineResult, EngineRunIO, ExecutorRecord, ImagePreparation, ImageRef, Mount, SandboxProfile } from './types.js';
import { showValue } from '../util/show-value.js';

/** Repository of images imported from kiln trees; the tag is the tree digest's hex. */
export const TREE_IMAGE_REPO = 'kiln.local/tree';
/** Label on every step container, so an operator can find (and clean up) kiln's containers. */
export const STEP_LABEL = 'kiln.step';
/** Label naming the profile exception a container runs under: what an auditor looks for. */
export const EXCEPTION_LABEL = 'kiln.exception';
/** How far an output's ingest may run ahead of its image import (`EngineAction.outputImage`). */
const MIRROR_BUFFER_BYTES = 16 << 20;
/** After the container exited, the attach stream ends once the engine flushed the last output. */
const OUTPUT_DRAIN_MS = 10_000;

/** Loaded on first run: a build served from the cache never packs or unpacks anything. */
const archive = () => import('../archive/index.js');

export interface DockerEngineOptions {
  profile: SandboxProfile;
  /** Default: `new Dockerode()`, which honours DOCKER_HOST (and DOCKER_TLS_VERIFY / DOCKER_CERT_PATH). */
  docker?: Dockerode;
}

/** The Docker backend, with its image operations open to tests and to `kiln image`. */
export interface DockerEngine extends Engine {
  readonly kind: 'docker';
  /**
   * A kiln tree as an image, tagged by the tree digest (`kiln.local/tree:<hex>`): imported
   * from `rootfsTar()` only if absent. Returns the reference.
   */
  ensureTreeImage(tree: Digest, rootfsTar: () => Readable): Promise<string>;
  /** An image by digest (`name@sha256:<hex>`): pulled if absent; the local copy's digest is checked. */
  ensureOciImage(ref: string): Promise<string>;
  prepareImage(image: ImageRef, options: ImagePreparation): void;
}

/** What one container run needs, once the image and the input tar are ready. */
interface ContainerRun {
  action: EngineAction;
  image: string;
  input: () => Readable;
  /** Mounts placed after start into in-memory volumes (`readOnlyMounts: memory`), behind the stdin gate. */
  late?: { volumes: MemoryVolume[]; input: () => Readable };
  collect: (tar: Readable) => Promise<void>;
  io: EngineRunIO;
}

/** A tmpfs-backed volume at `path`, holding the read-only mounts under it. */
export interface MemoryVolume {
  path: string;
  name: string;
}

/** What this backend offers beyond the contract. */
export const DOCKER_FEATURES: readonly EngineFeature[] = ['mounts-in-memory', 'any-user', 'uts-names', 'cpuset', 'tmpfs'];

/**
 * The Docker backend of `Engine`. Everything crosses the engine API (tar streams in and out, no
 * bind mounts), so a remote engine behind DOCKER_HOST works as a local one does: mounts are
 * packed into one tar extracted at `/`, the output folder comes back as a tar and becomes a tree.
 */
export function createDockerEngine(options: DockerEngineOptions): DockerEngine {
  const { profile } = options;
  const docker = options.docker ?? new Dockerode();
  const images = createDockerImages(docker);
  let described: Promise<ExecutorRecord> | undefined;

  function describe(): Promise<ExecutorRecord> {
    described ??= docker.version().then(
      (v) => ({ engine: 'docker', version: `docker ${v.Version}`, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch }),
      (err: unknown) => {
        described = undefined;
        throw engineError(err, 'cannot query the engine version');
      },
    );
    return described;
  }

  async function run(action: EngineAction, io: EngineRunIO): Promise<EngineResult> {
    io.signal?.throwIfAborted();
    const { store } = io;
    const image = await images.forAction(action, io);
    const { ingestTar, packLayers } = await archive();
    const { early, late, volumes } = splitMounts(action);
    const layers = await toPackLayers(store, action, early);
    const lateLayers = volumes.length > 0 ? await toPackLayers(store, action, late) : [];
    let outputTree: Digest | undefined;
    const result = await runContainer(docker, profile, {
      action,
      image,
      io,
      input: () => packLayers(store, layers, { mtime: action.mtime }),
      ...(volumes.length > 0 && { late: { volumes, input: () => packLayers(store, lateLayers, { mtime: action.mtime }) } }),
      collect: async (tar) => {
        const image = action.outputImage ? images.importOutput(action.mtime) : undefined;
        try {
          outputTree = (await ingestTar(store, tar, { label: action.label, strip: basename(action.outputPath), links: 'any', ...(image && { mirror: image.mirror }) })).digest;
        } catch (err) {
          image?.abort();
          throw err;
        }
        await image?.finish(outputTree);
      },
    });
    return { ...result, ...(outputTree && { outputTree }), executor: await describe() };
  }

  function prepareImage(image: ImageRef, options: ImagePreparation): void {
    if (image.kind !== 'tree') return;
    // Memoized by tree: the run that needs the image waits for this import, or retries it.
    images.forAction({ image, mtime: options.mtime }, { store: options.store }).catch(() => undefined);
  }

  return { kind: 'docker', features: DOCKER_FEATURES, describe, run, prepareImage, ensureTreeImage: images.ensureTree, ensureOciImage: images.ensureOci };
}

/**
 * Pure: which mounts go into the tar extracted before start (`early`) and which into in-memory
 * volumes after start (`late`, with `readOnlyMounts: memory`: the read-only trees and files,
 * in one volume per parent folder, e.g. /kiln/inputs and /kiln/steps). Docker mounts a tmpfs
 * only at start, and a tmpfs volume written through the archive API before start is unmounted
 * (and emptied) when the write ends; written while the container runs, it stays, so the step
 * waits at its gate until then. A volume would hide any other mount under its folder: refused.
 */
export function splitMounts(action: EngineAction): { early: Mount[]; late: Mount[]; volumes: MemoryVolume[] } {
  if (action.readOnlyMounts !== 'memory') return { early: action.mounts, late: [], volumes: [] };
  const isLate = (m: Mount) => !m.writable && (m.source.kind === 'tree' || m.source.kind === 'file');
  const late = action.mounts.filter(isLate);
  const early = action.mounts.filter((m) => !isLate(m));
  if (late.length === 0) return { early, late, volumes: [] };
  if (action.gate !== 'stdin') {
    throw new SandboxError('KILN_SANDBOX_ENGINE_ERROR', `step ${action.label}: read-only mounts in memory need the stdin gate`, { step: action.label });
  }
  const roots = [...new Set(late.map((m) => dirname(m.path)))].sort();
  for (const root of roots) {
    if (root === '/' || early.some((m) => m.path === root || m.path.startsWith(`${root}/`) || root.startsWith(`${m.path}/`))) {
      throw new SandboxError('KILN_SANDBOX_ENGINE_ERROR', `step ${action.label}: an in-memory volume at ${root} would hide another mount`, { step: action.label });
    }
  }
  const token = randomBytes(6).toString('hex');
  return { early, late, volumes: roots.map((path, i) => ({ path, name: `kiln-mem-${token}-${i}` })) };
}

/** An action's output imported as an image while it is read back (`EngineAction.outputImage`). */
interface OutputImport {
  /** Where the ingest writes its normalized copy of the entries. */
  mirror: TarMirror;
  /** The output is stored as `tree`: the import is finished and tagged as that tree's image. Never throws. */
  finish(tree: Digest): Promise<void>;
  /** The output was not taken: the import is stopped and leaves nothing. */
  abort(): void;
}

interface DockerImages {
  ensureTree(tree: Digest, rootfsTar: () => Readable): Promise<string>;
  importOutput(mtime: number): OutputImport;
  ensureOci(ref: string): Promise<string>;
  /** The action's image in the engine: a tree is imported from the store once, an OCI image pulled. */
  forAction(action: Pick<EngineAction, 'image' | 'mtime'>, io: Pick<EngineRunIO, 'store' | 'onImage'>): Promise<string>;
}

/** The images of one engine: kiln trees imported under their digest, OCI images pulled by digest and checked. */
function createDockerImages(docker: Dockerode): DockerImages {
  // One import per tree per process: concurrent steps on one image share the promise.
  const treeImages = new Map<string, Promise<string>>();

  function ensureTree(tree: Digest, rootfsTar: () => Readable): Promise<string> {
    if (!isDigest(tree)) {
      return Promise.reject(new SandboxError('KILN_SANDBOX_BAD_IMAGE_REF', `not a tree digest: ${showValue(tree)}`));
    }
    const tag = digestHex(tree);
    const ref = `${TREE_IMAGE_REPO}:${tag}`;
    let pending = treeImages.get(ref);
    if (!pending) {
      pending = importTree(ref, tag, rootfsTar);
      treeImages.set(ref, pending);
      // A failed import may be retried; a successful one stays memoized.
      pending.catch(() => treeImages.delete(ref));
    }
    return pending;
  }

  async function importTree(ref: string, tag: string, rootfsTar: () => Readable): Promise<string> {
    if ((await inspectImage(docker, ref)) !== undefined) return ref;
    try {
      const progress = await docker.importImage(rootfsTar(), { repo: TREE_IMAGE_REPO, tag });
      await drainProgress(progress);
    } catch (err) {
      if (isUnavailable(err)) throw engineError(err, `cannot import image ${ref}`);
      throw new SandboxError('KILN_SANDBOX_IMAGE_IMPORT', `cannot import the rootfs tree as image ${ref}: ${messageOf(err)}`, { cause: err });
    }
    return ref;
  }

  async function ensureOci(ref: string): Promise<string> {
    const { hex } = parseOciRef(ref);
    let image = await inspectImage(docker, ref);
    if (!image) {
      try {
        await drainProgress(await docker.pull(ref));
      } catch (err) {
        if (isUnavailable(err)) throw engineError(err, `cannot pull ${ref}`);
        throw new SandboxError('KILN_SANDBOX_IMAGE_PULL', `cannot pull ${ref}: ${messageOf(err)}`, {
          cause: err,
          hint: 'check that the registry is reachable from the engine and holds this digest',
        });
      }
      image = await inspectImage(docker, ref);
    }
    // The engine resolved the reference; make sure the copy it holds is the one the recipe pinned.
    const digests = image?.RepoDigests ?? [];
    if (!digests.some((d) => d.endsWith(`@sha256:${hex}`))) {
      throw new SandboxError('KILN_SANDBOX_IMAGE_DIGEST', `the engine's copy of ${ref} does not carry the pinned digest`, {
        expected: `sha256:${hex}`,
        found: digests.join(', ') || '(no repo digests)',
      });
    }
    return ref;
  }

  async function forAction(action: Pick<EngineAction, 'image' | 'mtime'>, io: Pick<EngineRunIO, 'store' | 'onImage'>): Promise<string> {
    const image = action.image;
    if (image.kind === 'oci') {
      io.onImage?.('pull');
      return ensureOci(image.ref);
    }
    io.onImage?.('import');
    const { writeTreeTar } = await archive();
    const { store } = io;
    const manifest = await store.readTree(image.tree);
    return ensureTree(image.tree, () => writeTreeTar(store, manifest, { mtime: action.mtime }));
  }

  /**
   * The mirror of an output, streamed into `docker import` under a temporary tag while the
   * output is ingested, then tagged as the tree's image (unless one exists). If anything fails,
   * the image is simply imported from the tree when a step needs it.
   */
  function importOutput(mtime: number): OutputImport {
    const pack = tarPack();
    const tag = `pending-${randomBytes(8).toString('hex')}`;
    const pending = `${TREE_IMAGE_REPO}:${tag}`;
    // A deep buffer between the two: the ingest is not held to the engine's pace file by file.
    const buffered = new PassThrough({ highWaterMark: MIRROR_BUFFER_BYTES });
    Readable.from(pack, { objectMode: false }).on('error', (err) => buffered.destroy(err)).pipe(buffered);
    const imported = docker.importImage(buffered, { repo: TREE_IMAGE_REPO, tag }).then(drainProgress);
    imported.catch(() => undefined);
    const untag = () => docker.getImage(pending).remove().catch(() => undefined);
    return {
      mirror: { pack, mtime },
      async finish(tree) {
        pack.finalize();
        try {
          await imported;
          const hex = digestHex(tree);
          const ref = `${TREE_IMAGE_REPO}:${hex}`;
          if ((await inspectImage(docker, ref)) === undefined) await docker.getImage(pending).tag({ repo: TREE_IMAGE_REPO, tag: hex });
          if (!treeImages.has(ref)) treeImages.set(ref, Promise.resolve(ref));
        } catch {
          // Imported from the tree later, by the first step that runs in it.
        } finally {
          await untag();
        }
      },
      abort() {
        pack.destroy();
        void imported.then(untag, () => undefined);
      },
    };
  }

  return { ensureTree, ensureOci, forAction, importOutput };
}

async function inspectImage(docker: Dockerode, ref: string): Promise<Dockerode.ImageInspectInfo | undefined> {
  try {
    return await docker.getImage(ref).inspect();
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw engineError(err, `cannot inspect image ${ref}`);
  }
}

/** One container: created with every isolation setting, fed its inputs, started, waited for, read back, removed. */
async function runContainer(docker: Dockerode, profile: SandboxProfile, { action, image, input, late, collect, io }: ContainerRun): Promise<Omit<EngineResult, 'executor' | 'outputTree'>> {
  const started = Date.now();
  let container: Dockerode.Container | undefined;
  let attaching: Promise<NodeJS.ReadableStream | undefined> | undefined;
  let killed: EngineResult['killed'];
  let timer: NodeJS.Timeout | undefined;
  const onAbort = (): void => kill('aborted');

  function kill(reason: NonNullable<EngineResult['killed']>): void {
    if (killed) return;
    killed = reason;
    // 409 when it already stopped: nothing to do.
    container?.kill().catch(() => undefined);
  }

  const volumes = late?.volumes ?? [];
  try {
    try {
      for (const v of volumes) await createMemoryVolume(docker, v, action.label);
      container = await docker.createContainer(toContainerCreateOptions(action, image, profile, volumes));
    } catch (err) {
      throw engineError(err, `cannot create the container of step ${action.label}`, action.label);
    }
    const c = container;
    let outputDone: Promise<void> = Promise.resolve();
    try {
      // Attach before start so no early output is lost; inputs go in as one tar stream. A gated
      // step also gets its stdin through the attach: it waits until kiln closes it.
      const gated = late !== undefined;
      attaching = io.onOutput || gated ? c.attach({ stream: true, stdout: true, stderr: true, ...(gated && { stdin: true, hijack: true }) }) : Promise.resolve(undefined);
      const [stream] = await Promise.all([attaching, c.putArchive(input(), { path: '/' })]);
      if (stream && io.onOutput) outputDone = forwardOutput(docker, stream, io.onOutput);
      else if (stream) (stream as Readable).resume();
      io.signal?.addEventListener('abort', onAbort, { once: true });
      await c.start();
      if (late) {
        // Written while the container runs, so the volumes stay mounted; then the gate opens.
        await c.putArchive(late.input(), { path: '/' });
        (stream as unknown as Writable).end();
      }
    } catch (err) {
      throw engineError(err, `cannot start step ${action.label}`, action.label);
    }
    // An abort that arrived before start found nothing running: kill now.
    if (io.signal?.aborted) kill('aborted');
    if (killed) await c.kill().catch(() => undefined);
    if (action.limits.timeoutMs !== undefined) timer = setTimeout(() => kill('timeout'), action.limits.timeoutMs);

    let exitCode: number;
    try {
      const waited = (await c.wait()) as { StatusCode: number };
      exitCode = waited.StatusCode;
    } catch (err) {
      throw engineError(err, `lost step ${action.label} while waiting for it`, action.label);
    }
    clearTimeout(timer);
    await drainWithin(outputDone, OUTPUT_DRAIN_MS);

    // Only a failed step pays for the question: was it the memory limit?
    if (exitCode !== 0 && !killed && (await wasOomKilled(docker, c, started))) killed = 'oom';
    if (exitCode === 0 && !killed) await collectOutput(c, action, collect);

    return { exitCode, ...(killed && { killed }), durationMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
    io.signal?.removeEventListener('abort', onAbort);
    attaching?.then((stream) => (stream as Readable | undefined)?.destroy(), () => undefined);
    // The container is scratch: gone whatever happened, with its anonymous volumes.
    await container?.remove({ force: true, v: true }).catch(() => undefined);
    for (const v of volumes) await docker.getVolume(v.name).remove({ force: true }).catch(() => undefined);
  }
}

/** A tmpfs-backed volume, root-owned 0755 like the folder it replaces; labelled so an operator finds kiln's. */
async function createMemoryVolume(docker: Dockerode, volume: MemoryVolume, label: string): Promise<void> {
  await docker.createVolume({
    Name: volume.name,
    Driver: 'local',
    DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'mode=0755,uid=0,gid=0,nosuid,nodev' },
    Labels: { [STEP_LABEL]: label },
  });
}

/**
 * The one create request of a step: every isolation setting is here, none is added later.
 * Pure, so the settings can be checked without an engine.
 */
export function toContainerCreateOptions(action: EngineAction, image: string, profile: SandboxProfile, volumes: readonly MemoryVolume[] = []): Dockerode.ContainerCreateOptions {
  // Sorted, so the process environment does not depend on how the planner built the record.
  const env = Object.keys(action.env).sort().map((k) => `${k}=${action.env[k]}`);
  const privilege = action.privilege === undefined ? undefined : assertPrivilege(profile, action);
  return {
    Image: image,
    Cmd: action.argv,
    // An empty entrypoint, so an OCI image's own ENTRYPOINT cannot wrap the step's argv.
    Entrypoint: [],
    Env: env,
    User: `${action.user.uid}:${action.user.gid}`,
    WorkingDir: action.workdir,
    Hostname: action.hostname,
    Domainname: action.domainname,
    NetworkDisabled: true,
    Labels: { [STEP_LABEL]: action.label, ...(privilege && { [EXCEPTION_LABEL]: privilege }) },
    Tty: false,
    // A gated step reads stdin until kiln closes it (after placing its in-memory mounts).
    OpenStdin: volumes.length > 0,
    StdinOnce: volumes.length > 0,
    AttachStdin: volumes.length > 0,
    HostConfig: {
      // The profile's promises, in Docker's words: no network, every capability dropped but
      // the ones kept, no privilege gained through setuid or file capabilities.
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      CapAdd: [...profile.capabilities, ...(action.privilege?.capabilities ?? [])],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: action.limits.pids,
      Memory: action.limits.memoryBytes,
      // Equal to Memory: no swap on top of the limit.
      MemorySwap: action.limits.memoryBytes,
      Privileged: false,
      IpcMode: 'private',
      AutoRemove: false,
      Init: false,
      // Output reaches kiln through attach; the engine keeps no log file of it on the host.
      LogConfig: { Type: 'none', Config: {} },
      ...(action.limits.cpus !== undefined && { CpusetCpus: action.limits.cpus }),
      ...(action.tmpfs && { Tmpfs: { ...action.tmpfs } }),
      // Written through the archive API after start; the step's user cannot write there (root-owned, no write bits).
      // NoCopy: nothing of the image is copied into the volume (the typings demand fields the API does not).
      ...(volumes.length > 0 && { Mounts: volumes.map((v) => ({ Type: 'volume' as const, Source: v.name, Target: v.path, ReadOnly: false, VolumeOptions: { NoCopy: true } as NonNullable<Dockerode.MountSettings['VolumeOptions']> })) }),
    },
  };
}

/**
 * A privileged action must be exactly a named exception of the profile: its user and its
 * capabilities. An unknown name, another user or one more capability is refused, never applied.
 */
function assertPrivilege(profile: SandboxProfile, action: EngineAction): string {
  const name = action.privilege!.name;
  const ex = profile.exceptions && Object.hasOwn(profile.exceptions, name) ? profile.exceptions[name] : undefined;
  if (!ex) {
    throw new SandboxError('KILN_SANDBOX_BAD_PROFILE', `the sandbox profile grants no exception "${name}"`, {
      hint: 'exceptions are listed under "exceptions" in sandbox/profile.json',
    });
  }
  const user = `${action.user.uid}:${action.user.gid}`;
  const caps = [...action.privilege!.capabilities].sort().join(',');
  if (ex.user !== user || [...ex.capabilities].sort().join(',') !== caps) {
    throw new SandboxError('KILN_SANDBOX_BAD_PROFILE', `action ${action.label} asks more than exception "${name}" grants`, {
      expected: `user ${ex.user}, capabilities ${ex.capabilities.join(',') || '(none)'}`,
      found: `user ${user}, capabilities ${caps || '(none)'}`,
    });
  }
  return name;
}

/**
 * The action's mounts as the layers of the one tar extracted at `/`: later layers replace
 * earlier entries; read-only mounts carry no write bit, writable ones belong to their owner.
 */
async function toPackLayers(store: Store, action: EngineAction, mounts: Mount[]): Promise<PackLayer[]> {
  return Promise.all(
    mounts.map(async (m): Promise<PackLayer> => {
      const ids = m.owner === 'root' ? { uid: 0, gid: 0 } : action.user;
      const prefix = m.path.replace(/^\/+/, '');
      const base = { ...ids, readOnly: !m.writable };
      switch (m.source.kind) {
        case 'tree':
          // Manifests are read here, once; packing streams file contents from the store.
          return { ...base, prefix, source: { kind: 'tree', manifest: await store.readTree(m.source.tree) } };
        case 'file':
        case 'dir':
          return { ...base, prefix, source: m.source };
        case 'symlink': {
          const at = prefix.lastIndexOf('/');
          const entry = { path: prefix.slice(at + 1), type: 'symlink' as const, target: m.source.target };
          return { ...base, readOnly: false, prefix: prefix.slice(0, Math.max(0, at)), source: { kind: 'tree', manifest: { kiln: 'tree/v1', entries: [entry] } } };
        }
      }
    }),
  );
}

/** `name@sha256:<hex>` → its parts; anything else is refused (kiln never runs an image by tag). */
export function parseOciRef(ref: string): { name: string; hex: string } {
  const m = /^([^@\s]+)@sha256:([0-9a-f]{64})$/.exec(ref);
  if (!m) {
    throw new SandboxError('KILN_SANDBOX_BAD_IMAGE_REF', `an OCI image must be pinned by digest: ${ref}`, {
      expected: 'name@sha256:<64 hex>',
      found: ref,
    });
  }
  return { name: m[1]!, hex: m[2]! };
}

async function collectOutput(c: Dockerode.Container, action: EngineAction, collect: (tar: Readable) => Promise<void>): Promise<void> {
  let source: NodeJS.ReadableStream;
  try {
    source = await c.getArchive({ path: action.outputPath });
  } catch (err) {
    throw engineError(err, `cannot read ${action.outputPath} of step ${action.label}`, action.label);
  }
  const maxBytes = action.limits.outputBytes;
  let bytes = 0;
  let tooLarge: SandboxError | undefined;
  // Counted as it streams: a step filling its output folder cannot fill the host's disk through kiln.
  const counted = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > maxBytes && !tooLarge) {
        tooLarge = new SandboxError('KILN_SANDBOX_OUTPUT_TOO_LARGE', `the output of step ${action.label} exceeds the sandbox limit`, {
          step: action.label,
          expected: `at most ${maxBytes} bytes`,
          found: `more than ${maxBytes} bytes`,
        });
        done(tooLarge);
        return;
      }
      done(null, chunk);
    },
  });
  source.on('error', (err: Error) => counted.destroy(err));
  source.pipe(counted);
  try {
    await collect(counted);
  } catch (err) {
    if (tooLarge) throw tooLarge;
    if (isKilnError(err)) throw err;
    throw engineError(err, `collecting the output of step ${action.label} failed`, action.label);
  } finally {
    (source as Readable).destroy();
  }
  if (tooLarge) throw tooLarge;
}

/** How long the engine may take to log an OOM event that it handled after the exit. */
const OOM_EVENT_GRACE_MS = 150;

/**
 * Whether the memory limit killed the step. Inspect's OOMKilled misses an OOM that the engine
 * processes after the exit (a race inside dockerd 20.10, about one run in ten here); the
 * engine's event log still records it, so a SIGKILL exit not explained by inspect asks there.
 */
async function wasOomKilled(docker: Dockerode, c: Dockerode.Container, sinceMs: number): Promise<boolean> {
  const state = await c.inspect().then((i) => i.State, () => undefined);
  if (state?.OOMKilled) return true;
  if (state?.ExitCode !== 137) return false;
  // A loaded engine logs the event late: ask again, waiting longer each time (about 2 s at most).
  for (let wait = OOM_EVENT_GRACE_MS; wait <= OOM_EVENT_GRACE_MS * 8; wait *= 2) {
    await new Promise((resolve) => setTimeout(resolve, wait));
    if (await oomEventSeen(docker, c, sinceMs)) return true;
  }
  return false;
}

async function oomEventSeen(docker: Dockerode, c: Dockerode.Container, sinceMs: number): Promise<boolean> {
  try {
    // `until` as text with nanoseconds: the typed number form would lose the fraction of a second.
    const options = { since: Math.floor(sinceMs / 1000) - 1, until: toEventTime(Date.now()), filters: { container: [c.id], event: ['oom'] } };
    const events = await docker.getEvents(options as unknown as Dockerode.GetEventsOptions);
    let text = '';
    for await (const chunk of events as unknown as AsyncIterable<Buffer>) text += chunk.toString();
    return text.includes('"oom"');
  } catch {
    return false;
  }
}

/** `seconds.nanoseconds`, the engine's event time format. */
function toEventTime(ms: number): string {
  return `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}000000`;
}

/** Demultiplexes the attach stream (Tty false: 8-byte frame headers) into `onOutput`, in order. */
function forwardOutput(
  docker: Dockerode,
  stream: NodeJS.ReadableStream,
  onOutput: NonNullable<EngineRunIO['onOutput']>,
): Promise<void> {
  const sink = (name: 'stdout' | 'stderr'): Writable =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        onOutput(chunk, name);
        done();
      },
    });
  docker.modem.demuxStream(stream, sink('stdout'), sink('stderr'));
  return new Promise((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
}

async function drainWithin(done: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Reads an engine progress stream (JSON lines) to its end; an `error` line rejects. */
async function drainProgress(stream: NodeJS.ReadableStream): Promise<void> {
  let rest = '';
  let failure: string | undefined;
  const take = (line: string): void => {
    const text = line.trim();
    if (!text) return;
    let msg: { error?: string; errorDetail?: { message?: string } };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      return; // not a progress message; the engine's status decides
    }
    if (msg.error || msg.errorDetail) failure ??= msg.errorDetail?.message ?? msg.error;
  };
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    rest += chunk.toString();
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      take(rest.slice(0, nl));
      rest = rest.slice(nl + 1);
    }
  }
  take(rest);
  if (failure !== undefined) throw new Error(failure);
}

const UNAVAILABLE_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);

function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return statusOf(err) === undefined && typeof code === 'string' && UNAVAILABLE_CODES.has(code);
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message.trim() : String(err);
}

/** Wraps an engine failure at the boundary, naming what was being done; keeps KilnErrors as they are. */
function engineError(err: unknown, what: string, step?: string): Error {
  if (isKilnError(err)) return err;
  if (isUnavailable(err)) {
    return new SandboxError('KILN_SANDBOX_ENGINE_UNAVAILABLE', `${what}: the Docker engine does not answer (${messageOf(err)})`, {
      cause: err,
      step,
      hint: 'start the Docker engine (dockerd), or set DOCKER_HOST to one that runs',
    });
  }
  return new SandboxError('KILN_SANDBOX_ENGINE_ERROR', `${what}: ${messageOf(err)}`, { cause: err, step });
}
