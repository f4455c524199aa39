import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ActionResult, ExecutedActionMetadata, ReapiClient, ReapiClientOptions, ReapiError, RemoteActionRun, Timestamp } from '../reapi/index.js';
import { createReapiClient, digestKey, storeBlobOpener } from '../reapi/index.js';
import type { Store, TreeEntry, TreeManifest } from '../store/index.js';
import type { Digest } from '../util/digest.js';
import { isKilnError } from '../util/errors.js';
import { SandboxError } from './errors.js';
import { assertRemoteRunnable, planRemoteAction, type RemoteFarm } from './remote-layout.js';
import type { Engine, EngineAction, EngineResult, EngineRunIO, ExecutorRecord, SandboxProfile } from './types.js';

/** What the test cluster's workers advertise (scripts/buildbarn/common.libsonnet); a farm names its own. */
export const DEFAULT_REMOTE_PLATFORM: Readonly<Record<string, string>> = { OSFamily: 'linux' };
/** The user a farm's runners run commands as, unless told otherwise: the recipe default user. */
export const DEFAULT_REMOTE_USER = '1000:1000';
/** Times an action is submitted again after the farm lost the worker running it. */
const DEFAULT_LOST_WORKER_RETRIES = 2;

export interface ReapiEngineOptions {
  profile: SandboxProfile;
  /** The farm: `grpc[s]://host:port[/instance]`, TLS, headers, a bearer token (never recorded). */
  connection: ReapiClientOptions;
  /** A ready client (tests hand in one talking to a fake server); default one made from `connection`. */
  client?: ReapiClient;
  /** Platform properties every Action carries; default `DEFAULT_REMOTE_PLATFORM`. */
  platform?: Record<string, string>;
  /** `uid:gid` the farm runs commands as; default `DEFAULT_REMOTE_USER`. */
  user?: string;
  /**
   * Where actions that need a privilege of the profile (a debian image's assembly) run: the
   * local engine this returns. Absent: they are refused. A farm is never asked to run one
   * (docs/remote-execution.md says why).
   */
  privileged?: () => Promise<Engine>;
  lostWorkerRetries?: number;
}

/** The farm's view of an action once it finished: the result, and where and how long it ran. */
interface FarmRun {
  run: RemoteActionRun;
  durationMs: number;
  /** Why earlier submissions of the action did not finish (a worker lost mid-action), oldest first. */
  resubmitted: string[];
}

/**
 * The Remote Execution API backend of `Engine`: each action becomes an REAPI Action (the
 * image tree and staged mounts as the input root, deduplicated against the farm's CAS; a
 * Command that lays out the mounts as the local engine does and then runs the argv; the
 * profile's platform; the timeout), executed on the farm; the output folder comes back into the
 * store as a tree, and the logs into the run's output. No capability beyond the contract.
 */
export function createReapiEngine(options: ReapiEngineOptions): Engine {
  const client = options.client ?? createReapiClient(options.connection);
  const farm = farmOf(options);
  let described: Promise<ExecutorRecord> | undefined;

  function describe(): Promise<ExecutorRecord> {
    described ??= client.capabilities().then(
      (caps) => {
        if (!caps.executionCapabilities?.execEnabled) throw unavailable(client, 'it does not execute actions (Capabilities: exec disabled)');
        if (!(caps.cacheCapabilities?.digestFunctions ?? []).includes('SHA256')) throw unavailable(client, 'its CAS does not take sha256 digests');
        const api = (v: typeof caps.highApiVersion) => (v ? `${v.major}.${v.minor}` : '?');
        return {
          engine: 'reapi',
          version: `reapi ${client.endpoint} (REAPI ${api(caps.lowApiVersion)}–${api(caps.highApiVersion)})`,
          endpoint: client.endpoint,
          instance: client.instanceName,
          platform: { ...farm.platform },
        };
      },
      (err: unknown) => {
        described = undefined;
        throw engineError(client, err, 'cannot reach the remote executor');
      },
    );
    return described;
  }

  let privileged: Promise<Engine> | undefined;
  async function run(action: EngineAction, io: EngineRunIO): Promise<EngineResult> {
    io.signal?.throwIfAborted();
    if (action.privilege && options.privileged) {
      privileged ??= options.privileged();
      return (await privileged).run(action, io);
    }
    assertRemoteRunnable(action, farm);
    const engine = await describe();
    io.onImage?.('import');
    const plan = planRemoteAction(action, await manifestsOf(action, io.store));
    const outcome = await runOnFarm(client, action, io, { ...plan, platform: farm.platform }, options.lostWorkerRetries ?? DEFAULT_LOST_WORKER_RETRIES);
    if (!('run' in outcome)) return { ...outcome, executor: engine };
    const { run, durationMs, resubmitted } = outcome;
    await forwardLogs(client, run.result, io);
    const result = run.result;
    const outputTree = result.exitCode === 0 ? await fetchOutput(client, action, run, io) : undefined;
    const metadata = result.executionMetadata ?? undefined;
    return {
      exitCode: result.exitCode,
      ...(outputTree && { outputTree }),
      durationMs,
      ...(metadata && { queuedMs: between(metadata.queuedTimestamp, metadata.workerStartTimestamp) }),
      executor: { ...engine, ...runRecord(run, metadata), ...(resubmitted.length > 0 && { resubmitted }) },
    };
  }

  return { kind: 'reapi', features: [], describe, run };
}

function farmOf(options: ReapiEngineOptions): RemoteFarm {
  const user = options.user ?? DEFAULT_REMOTE_USER;
  const m = /^(\d+):(\d+)$/.exec(user);
  if (!m) throw new SandboxError('KILN_SANDBOX_BAD_ENGINE', `the remote user must be "<uid>:<gid>", got "${user}"`);
  const { profile } = options;
  return {
    user: { uid: Number(m[1]), gid: Number(m[2]) },
    hostname: profile.hostname,
    domainname: profile.domainname,
    limits: { memoryBytes: profile.limits.memoryBytes, pids: profile.limits.pids },
    platform: { ...(options.platform ?? DEFAULT_REMOTE_PLATFORM) },
  };
}

/** The image's manifest and each mounted tree's, read from the run's store. */
async function manifestsOf(action: EngineAction, store: Store): Promise<{ image: TreeManifest; trees: Map<number, TreeManifest> }> {
  if (action.image.kind !== 'tree') throw new TypeError('checked by assertRemoteRunnable');
  const trees = new Map<number, TreeManifest>();
  for (const [i, m] of action.mounts.entries()) if (m.source.kind === 'tree') trees.set(i, await store.readTree(m.source.tree));
  return { image: await store.readTree(action.image.tree), trees };
}

/**
 * Uploads what the farm lacks and executes, following the operation to its end. The farm's own
 * action cache is never consulted: kiln's executor already looked in kiln's, and `--no-cache`
 * must mean a fresh run. A worker lost mid-action (the farm answers UNAVAILABLE) gets the
 * action submitted again; a timeout and an abort come back as `killed`.
 */
async function runOnFarm(
  client: ReapiClient,
  action: EngineAction,
  io: EngineRunIO,
  plan: ReturnType<typeof planRemoteAction> & { platform: Record<string, string> },
  retries: number,
): Promise<FarmRun | Omit<EngineResult, 'executor'>> {
  const started = Date.now();
  const resubmitted: string[] = [];
  for (let attempt = 0; ; attempt++) {
    try {
      const run = await client.runAction(
        { layers: plan.layers, command: plan.command, platform: plan.platform, open: storeBlobOpener(io.store), ...(plan.timeoutMs !== undefined && { timeoutMs: plan.timeoutMs }) },
        { skipCacheLookup: true, ...(io.signal && { signal: io.signal }) },
      );
      return { run, durationMs: Date.now() - started, resubmitted };
    } catch (err) {
      const e = err as ReapiError;
      if (e.code === 'KILN_REAPI_ABORTED') return { exitCode: -1, killed: 'aborted', durationMs: Date.now() - started };
      if (e.code === 'KILN_REAPI_EXECUTION' && e.grpcCode === GrpcStatus.DEADLINE_EXCEEDED) {
        if (e.partialResult) await forwardLogs(client, e.partialResult, io).catch(() => undefined);
        return { exitCode: e.partialResult?.exitCode || -1, killed: 'timeout', durationMs: Date.now() - started };
      }
      if (e.code === 'KILN_REAPI_EXECUTION' && e.grpcCode === GrpcStatus.UNAVAILABLE && attempt < retries) {
        resubmitted.push(e.message);
        continue;
      }
      throw engineError(client, err, `step ${action.label} could not run on the farm`, action.label);
    }
  }
}

/** stdout then stderr of the result into the run's output, streamed (a farm sends them after the end). */
async function forwardLogs(client: ReapiClient, result: ActionResult, io: EngineRunIO): Promise<void> {
  for (const [stream, raw, digest] of [['stdout', result.stdoutRaw, result.stdoutDigest], ['stderr', result.stderrRaw, result.stderrDigest]] as const) {
    if (raw.length > 0) io.onOutput?.(raw, stream);
    else if (digest && digest.sizeBytes > 0 && io.onOutput) {
      for await (const chunk of client.openBlobStream(digest, io.signal ? { signal: io.signal } : {})) io.onOutput(chunk as Buffer, stream);
    }
  }
}

/** The output folder into the store as a tree, held to the profile's output limit before a byte is fetched. */
async function fetchOutput(client: ReapiClient, action: EngineAction, run: RemoteActionRun, io: EngineRunIO): Promise<Digest> {
  const limit = action.limits.outputBytes;
  const checkEntries = (entries: TreeEntry[]) => {
    const bytes = entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
    if (bytes > limit) {
      throw new SandboxError('KILN_SANDBOX_OUTPUT_TOO_LARGE', `the output of step ${action.label} exceeds the sandbox limit`, {
        step: action.label, expected: `at most ${limit} bytes`, found: `${bytes} bytes`,
      });
    }
  };
  try {
    const out = await client.fetchOutputDirectory(run.result, action.outputPath.slice(1), io.store, { checkEntries, ...(io.signal && { signal: io.signal }) });
    return out.tree;
  } catch (err) {
    throw engineError(client, err, `cannot bring back the output of step ${action.label}`, action.label);
  }
}

/** Where and how an action ran, as the farm reported it: for provenance (no credentials). */
function runRecord(run: RemoteActionRun, m: ExecutedActionMetadata | undefined): Record<string, unknown> {
  return {
    actionDigest: digestKey(run.actionDigest),
    ...(run.operationName && { operation: run.operationName }),
    ...(m?.worker && { worker: m.worker }),
    ...(m && {
      timings: {
        queuedMs: between(m.queuedTimestamp, m.workerStartTimestamp),
        inputFetchMs: between(m.inputFetchStartTimestamp, m.inputFetchCompletedTimestamp),
        executionMs: between(m.executionStartTimestamp, m.executionCompletedTimestamp),
        outputUploadMs: between(m.outputUploadStartTimestamp, m.outputUploadCompletedTimestamp),
      },
    }),
  };
}

function toMs(t: Timestamp | null | undefined): number | undefined {
  return t ? t.seconds * 1000 + Math.floor(t.nanos / 1e6) : undefined;
}

/** Milliseconds from `a` to `b`; 0 when the farm did not report both. */
function between(a: Timestamp | null | undefined, b: Timestamp | null | undefined): number {
  const x = toMs(a);
  const y = toMs(b);
  return x !== undefined && y !== undefined && y >= x ? y - x : 0;
}

function unavailable(client: ReapiClient, why: string): SandboxError {
  return new SandboxError('KILN_SANDBOX_ENGINE_ERROR', `the remote executor ${client.endpoint} cannot run kiln's steps: ${why}`);
}

/** A farm failure at the engine's boundary: KilnErrors of the sandbox family pass, REAPI ones are wrapped with the step. */
function engineError(client: ReapiClient, err: unknown, what: string, step?: string): Error {
  if (err instanceof SandboxError) return err;
  const code = isKilnError(err) ? err.code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'KILN_REAPI_UNAVAILABLE' || code === 'KILN_REAPI_DEADLINE') {
    return new SandboxError('KILN_SANDBOX_ENGINE_UNAVAILABLE', `${what}: the remote executor ${client.endpoint} does not answer (${message})`, {
      cause: err, step, hint: 'check --remote-executor / KILN_REMOTE_EXECUTOR, and that the farm runs',
    });
  }
  return new SandboxError('KILN_SANDBOX_ENGINE_ERROR', `${what}: ${message}`, { cause: err, step });
}
