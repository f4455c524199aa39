import { Transform, Writable, type Readable } from 'node:stream';
import Dockerode from 'dockerode';
import { digestHex, isDigest, type Digest } from '../util/digest.js';
import { isKilnError } from '../util/errors.js';
import { SandboxError } from './errors.js';
import type { Engine, EngineInfo, SandboxException, SandboxProfile, StepRun, StepRunResult } from './types.js';

/** Repository of images imported from kiln trees; the tag is the tree digest's hex. */
export const TREE_IMAGE_REPO = 'kiln.local/tree';
/** Label on every step container, so an operator can find (and clean up) kiln's containers. */
export const STEP_LABEL = 'kiln.step';
/** Label naming the profile exception a container runs under: what an auditor looks for. */
export const EXCEPTION_LABEL = 'kiln.exception';
/** Where a step's output tree is read back from. */
const OUT_PATH = '/kiln/out';
/** After the container exited, the attach stream ends once the engine flushed the last output. */
const OUTPUT_DRAIN_MS = 10_000;

export interface DockerEngineOptions {
  profile: SandboxProfile;
  /** Default: `new Dockerode()`, which honours DOCKER_HOST (and DOCKER_TLS_VERIFY / DOCKER_CERT_PATH). */
  docker?: Dockerode;
}

/**
 * The Docker backend of `Engine`. Everything crosses the engine API (tar streams in and out, no
 * bind mounts), so a remote engine behind DOCKER_HOST works as a local one does.
 */
export function createDockerEngine(options: DockerEngineOptions): Engine {
  const { profile } = options;
  const docker = options.docker ?? new Dockerode();
  // One import per tree per process: concurrent steps on one image share the promise.
  const treeImages = new Map<string, Promise<string>>();

  async function info(): Promise<EngineInfo> {
    try {
      const v = await docker.version();
      return { version: `docker ${v.Version}`, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch };
    } catch (err) {
      throw engineError(err, 'cannot query the engine version');
    }
  }

  function ensureTreeImage(tree: Digest, rootfsTar: () => Readable): Promise<string> {
    if (!isDigest(tree)) {
      return Promise.reject(new SandboxError('KILN_SANDBOX_BAD_IMAGE_REF', `not a tree digest: ${String(tree)}`));
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
    if (await imageExists(ref)) return ref;
    try {
      const progress = await docker.importImage(rootfsTar(), { repo: TREE_IMAGE_REPO, tag });
      await drainProgress(progress);
    } catch (err) {
      if (isUnavailable(err)) throw engineError(err, `cannot import image ${ref}`);
      throw new SandboxError('KILN_SANDBOX_IMAGE_IMPORT', `cannot import the rootfs tree as image ${ref}: ${messageOf(err)}`, { cause: err });
    }
    return ref;
  }

  async function ensureOciImage(ref: string): Promise<string> {
    const { hex } = parseOciRef(ref);
    let image = await inspectImage(ref);
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
      image = await inspectImage(ref);
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

  async function runStep(run: StepRun): Promise<StepRunResult> {
    run.signal?.throwIfAborted();
    const started = Date.now();
    let container: Dockerode.Container | undefined;
    let attaching: Promise<NodeJS.ReadableStream | undefined> | undefined;
    let killed: StepRunResult['killed'];
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => kill('aborted');

    function kill(reason: NonNullable<StepRunResult['killed']>): void {
      if (killed) return;
      killed = reason;
      // 409 when it already stopped: nothing to do.
      container?.kill().catch(() => undefined);
    }

    try {
      try {
        container = await docker.createContainer(toContainerCreateOptions(run, profile));
      } catch (err) {
        throw engineError(err, `cannot create the container of step ${run.step}`, run.step);
      }
      const c = container;
      let outputDone: Promise<void> = Promise.resolve();
      try {
        // Attach before start so no early output is lost; inputs go in as one tar stream.
        attaching = run.onOutput ? c.attach({ stream: true, stdout: true, stderr: true }) : Promise.resolve(undefined);
        const [stream] = await Promise.all([attaching, c.putArchive(run.input(), { path: '/' })]);
        if (stream && run.onOutput) outputDone = forwardOutput(docker, stream, run.onOutput);
        run.signal?.addEventListener('abort', onAbort, { once: true });
        await c.start();
      } catch (err) {
        throw engineError(err, `cannot start step ${run.step}`, run.step);
      }
      // An abort that arrived before start found nothing running: kill now.
      if (run.signal?.aborted) kill('aborted');
      if (killed) await c.kill().catch(() => undefined);
      if (run.timeoutMs !== undefined) timer = setTimeout(() => kill('timeout'), run.timeoutMs);

      let exitCode: number;
      try {
        const waited = (await c.wait()) as { StatusCode: number };
        exitCode = waited.StatusCode;
      } catch (err) {
        throw engineError(err, `lost step ${run.step} while waiting for it`, run.step);
      }
      clearTimeout(timer);
      await drainWithin(outputDone, OUTPUT_DRAIN_MS);

      // Only a failed step pays for the question: was it the memory limit?
      if (exitCode !== 0 && !killed && (await wasOomKilled(docker, c, started))) killed = 'oom';
      if (exitCode === 0 && !killed) await collectOutput(c, run, profile.maxOutputBytes);

      return {
        exitCode,
        ...(killed && { killed }),
        containerId: c.id,
        durationMs: Date.now() - started,
      };
    } finally {
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
      attaching?.then((stream) => (stream as Readable | undefined)?.destroy(), () => undefined);
      // The container is scratch: gone whatever happened, with its anonymous volumes.
      await container?.remove({ force: true, v: true }).catch(() => undefined);
    }
  }

  async function inspectImage(ref: string): Promise<Dockerode.ImageInspectInfo | undefined> {
    try {
      return await docker.getImage(ref).inspect();
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw engineError(err, `cannot inspect image ${ref}`);
    }
  }

  async function imageExists(ref: string): Promise<boolean> {
    return (await inspectImage(ref)) !== undefined;
  }

  return { info, ensureTreeImage, ensureOciImage, runStep };
}

/**
 * The one create request of a step: every isolation setting is here, none is added later.
 * Pure, so the settings can be checked without an engine.
 */
export function toContainerCreateOptions(run: StepRun, profile: SandboxProfile): Dockerode.ContainerCreateOptions {
  // Sorted, so the process environment does not depend on how the planner built the record.
  const env = Object.keys(run.env).sort().map((k) => `${k}=${run.env[k]}`);
  const v = run.variation;
  const exception = run.exception === undefined ? undefined : profileException(profile, run.exception);
  return {
    Image: run.image,
    Cmd: run.argv,
    // An empty entrypoint, so an OCI image's own ENTRYPOINT cannot wrap the step's argv.
    Entrypoint: [],
    Env: env,
    // An exception decides the user itself: a run cannot pair its capabilities with another uid.
    User: exception ? exception.user : run.user,
    WorkingDir: v?.workdir ?? profile.workdir,
    Hostname: v?.hostname ?? profile.hostname,
    Domainname: v?.domainname ?? profile.domainname,
    NetworkDisabled: true,
    Labels: { [STEP_LABEL]: run.step, ...(run.exception !== undefined && { [EXCEPTION_LABEL]: run.exception }) },
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    HostConfig: {
      NetworkMode: profile.networkMode,
      CapDrop: [...profile.capDrop],
      CapAdd: [...profile.capAdd, ...(exception?.capAdd ?? [])],
      SecurityOpt: [...profile.securityOpt],
      PidsLimit: profile.pidsLimit,
      Memory: profile.memoryBytes,
      // Equal to Memory: no swap on top of the limit.
      MemorySwap: profile.memoryBytes,
      Privileged: false,
      IpcMode: 'private',
      AutoRemove: false,
      Init: false,
      // Output reaches kiln through attach; the engine keeps no log file of it on the host.
      LogConfig: { Type: 'none', Config: {} },
      ...(v?.cpusetCpus !== undefined && { CpusetCpus: v.cpusetCpus }),
      ...(v?.tmpfs && { Tmpfs: { ...v.tmpfs } }),
    },
  };
}

/** The named exception of the profile; an unknown name is refused, never ignored. */
function profileException(profile: SandboxProfile, name: string): SandboxException {
  const ex = profile.exceptions && Object.hasOwn(profile.exceptions, name) ? profile.exceptions[name] : undefined;
  if (!ex) {
    throw new SandboxError('KILN_SANDBOX_BAD_PROFILE', `the sandbox profile grants no exception "${name}"`, {
      hint: 'exceptions are listed under "exceptions" in sandbox/profile.json',
    });
  }
  return ex;
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

async function collectOutput(c: Dockerode.Container, run: StepRun, maxBytes: number): Promise<void> {
  let source: NodeJS.ReadableStream;
  try {
    source = await c.getArchive({ path: OUT_PATH });
  } catch (err) {
    throw engineError(err, `cannot read ${OUT_PATH} of step ${run.step}`, run.step);
  }
  let bytes = 0;
  let tooLarge: SandboxError | undefined;
  // Counted as it streams: a step filling /kiln/out cannot fill the host's disk through kiln.
  const counted = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > maxBytes && !tooLarge) {
        tooLarge = new SandboxError('KILN_SANDBOX_OUTPUT_TOO_LARGE', `the output of step ${run.step} exceeds the sandbox limit`, {
          step: run.step,
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
    await run.collect(counted);
  } catch (err) {
    if (tooLarge) throw tooLarge;
    if (isKilnError(err)) throw err;
    throw engineError(err, `collecting the output of step ${run.step} failed`, run.step);
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
  await new Promise((resolve) => setTimeout(resolve, OOM_EVENT_GRACE_MS));
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
  onOutput: NonNullable<StepRun['onOutput']>,
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
