import type { PlannedAction } from '../plan/index.js';
import type { Engine, ExecutorRecord } from '../sandbox/types.js';
import type { ActionLookup, ActionOrigin, Store } from '../store/index.js';
import { canonicalJSON } from '../util/canonical-json.js';
import type { Digest } from '../util/digest.js';
import type { SourceLocation } from '../util/errors.js';
import { BuildError } from './errors.js';
import type { BuildReporter } from './events.js';
import { lastLines, LogSink } from './log.js';

/** Loaded on first run: a build served from the cache never normalizes anything. */
const archive = () => import('../archive/index.js');

/** A result already produced in this process, by action key (`kiln check` shares them between its builds). */
export interface ReusedOutcome {
  outputTree: Digest;
  log: Digest;
  origin?: ActionOrigin;
}

/**
 * kiln's own actions (image assembly, clock probes) run once for several builds of one process:
 * `kiln check` hands every build the same, so its controls and varied builds judge the recipe's
 * steps and the toolchain image is assembled once, not once per build.
 */
export interface SharedImplicitActions {
  done: Map<Digest, ReusedOutcome>;
  running: Map<Digest, Promise<ActionOutcome>>;
}

/** An empty set of shared implicit actions, for builds that should assemble each image once between them. */
export function shareImplicitActions(): SharedImplicitActions {
  return { done: new Map(), running: new Map() };
}

export interface ExecutorOptions {
  store: Store;
  /** Called on the first action that must run: a fully cached build talks to no engine at all. */
  engine: () => Promise<Engine>;
  reporter: BuildReporter;
  /** Run every action even when the action cache has its result. */
  noCache?: boolean;
  /** Consulted and filled even with `noCache`: nothing in it outlives the process. */
  reuse?: Map<Digest, ReusedOutcome>;
  /** Consulted and filled for implicit actions, even with `noCache`. */
  implicitActions?: SharedImplicitActions;
  /** Aborts every action still to start or running. */
  signal: AbortSignal;
  /** Budget of decompressed bytes per output archive while normalizing (the profile's `limits.decompressedBytes`). */
  maxDecompressedBytes: number;
  /** Bytes of each log kept in the store (head and tail); default the log sink's. */
  maxLogBytes?: number;
}

/** What one action gave: from the cache, from this process, or run now. */
export interface ActionOutcome {
  actionKey: Digest;
  outputTree: Digest;
  log: Digest;
  cached: boolean;
  exitCode: number;
  durationMs: number;
  /** Who ran it; absent when it came from a cache. */
  executor?: ExecutorRecord;
  /** Set when the cached result was made elsewhere (a shared cache) and what admitted it. */
  origin?: ActionOrigin;
}

/** How a failure names what failed, for the user. */
export interface ActionSubject {
  /** e.g. `step "compile"` or `assembling image "toolchain"`. */
  describe: string;
  where?: SourceLocation;
  /** The recipe's name for the image it runs in, for the display. */
  image: string;
}

export interface Executor {
  execute(action: PlannedAction, subject: ActionSubject): Promise<ActionOutcome>;
  /**
   * A tree that an action will run in soon (a debian image's base, while its action is planned
   * and looked up in the caches): the engine may start taking it in. Only when an action is
   * bound to run: a fully cached build never talks to an engine.
   */
  prepareImage(tree: Digest, mtime: number): void;
}

/**
 * The one place a planned action becomes a result: reuse in this process, the action cache,
 * or a run on the engine (log streamed into the store, output tree normalized when asked,
 * the result cached). Only successful runs are cached; a failed one throws KILN_BUILD_STEP_FAILED
 * with the log's last lines.
 */
export function createExecutor(options: ExecutorOptions): Executor {
  const { store, reporter: report } = options;
  /** Images already announced: the display hears of each once. */
  const announced = new Set<string>();
  /** Actions running now, by key: a second step with the same key waits for the first instead of running again. */
  const ownRunning = new Map<Digest, Promise<ActionOutcome>>();

  async function execute(action: PlannedAction, subject: ActionSubject): Promise<ActionOutcome> {
    const { name, actionKey } = action;
    if (options.signal.aborted) throw new BuildError('KILN_BUILD_ABORTED', `${subject.describe} not started: the build was aborted`, { step: name });
    const shared = action.implicit ? options.implicitActions : undefined;
    const running = shared?.running ?? ownRunning;
    const known = options.reuse?.get(actionKey) ?? shared?.done.get(actionKey) ?? (options.noCache ? undefined : await store.getAction(actionKey, lookupOf(action, subject)));
    if (known) {
      const origin = known.origin;
      report({ type: 'step-cached', step: name, actionKey, ...(origin && { origin }) });
      return { actionKey, outputTree: known.outputTree, log: known.log, cached: true, exitCode: 0, durationMs: 0, ...(origin && { origin }) };
    }
    const twin = running.get(actionKey);
    if (twin) {
      const done = await twin;
      report({ type: 'step-cached', step: name, actionKey });
      return { ...done, cached: true, durationMs: 0 };
    }
    const pending = runAndCache(action, subject).then((outcome) => {
      shared?.done.set(actionKey, { outputTree: outcome.outputTree, log: outcome.log });
      return outcome;
    });
    running.set(actionKey, pending);
    try {
      return await pending;
    } finally {
      running.delete(actionKey);
    }
  }

  async function runAndCache(action: PlannedAction, subject: ActionSubject): Promise<ActionOutcome> {
    const { name, actionKey } = action;
    const outcome = await runOnEngine(action, subject);
    options.reuse?.set(actionKey, { outputTree: outcome.outputTree, log: outcome.log });
    await store.putAction(actionKey, {
      kiln: 'action/v1', outputTree: outcome.outputTree, log: outcome.log, exitCode: 0, durationMs: outcome.durationMs, createdAt: new Date().toISOString(),
    }, lookupOf(action, subject));
    report({ type: 'step-done', step: name, durationMs: outcome.durationMs, outputTree: outcome.outputTree });
    return outcome;
  }

  async function runOnEngine(action: PlannedAction, subject: ActionSubject): Promise<ActionOutcome> {
    const { name, actionKey } = action;
    const engine = await options.engine();
    report({ type: 'step-start', step: name, actionKey });
    const log = new LogSink(store, (stream, line) => report({ type: 'log', step: name, stream, line }), { maxBytes: options.maxLogBytes });
    let result;
    try {
      result = await engine.run(action.run, {
        store,
        onOutput: (chunk, stream) => log.write(chunk, stream),
        onImage: (what) => {
          if (announced.has(subject.image)) return;
          announced.add(subject.image);
          report({ type: 'image', image: subject.image, action: what });
        },
        signal: options.signal,
      });
    } catch (err) {
      await log.close().catch(() => undefined);
      report({ type: 'step-failed', step: name, reason: (err as Error).message });
      throw err;
    }
    const logDigest = await log.close();
    if (result.exitCode !== 0 || !result.outputTree) {
      const tail = lastLines(log.text(), 20);
      const reason = result.killed ? `killed (${result.killed})` : `exit code ${result.exitCode}`;
      report({ type: 'step-failed', step: name, exitCode: result.exitCode, reason });
      throw new BuildError('KILN_BUILD_STEP_FAILED', `${subject.describe} failed: ${reason}`, {
        step: name, logTail: tail, where: subject.where, hint: networkHint(tail),
      });
    }
    let outputTree = result.outputTree;
    try {
      if (action.normalize) outputTree = await normalized(outputTree, action);
    } catch (err) {
      report({ type: 'step-failed', step: name, reason: (err as Error).message });
      throw err;
    }
    return { actionKey, outputTree, log: logDigest, cached: false, exitCode: 0, durationMs: result.durationMs, executor: result.executor };
  }

  async function normalized(tree: Digest, action: PlannedAction): Promise<Digest> {
    const { normalizeTree } = await archive();
    const manifest = await store.readTree(tree);
    const rules = { sourceDateEpoch: action.material.sourceDateEpoch, maxDecompressedBytes: options.maxDecompressedBytes, label: action.name };
    return (await normalizeTree(store, manifest, rules)).digest;
  }

  function prepareImage(tree: Digest, mtime: number): void {
    if (options.signal.aborted) return;
    options.engine().then((engine) => engine.prepareImage?.({ kind: 'tree', tree }, { store, mtime }), () => undefined);
  }

  return { execute, prepareImage };
}

/** The key's preimage, for an action cache that addresses entries by it (a REAPI digest carries the size). */
function lookupOf(action: PlannedAction, subject: ActionSubject): ActionLookup {
  return { keyMaterial: canonicalJSON(action.material), label: subject.describe };
}

const NETWORK_FAILURE = /(bad address|could not resolve|name resolution|network is unreachable|ENETUNREACH|EAI_AGAIN|ENOTFOUND|connection refused|no route to host|unknown host|Temporary failure)/i;

/** Steps have no network by design; when the log looks like it wanted some, say so. */
function networkHint(tail: string[]): string | undefined {
  return tail.some((l) => NETWORK_FAILURE.test(l))
    ? 'the step tried to use the network: steps run with no network at all. Declare what it downloads as a pinned input instead.'
    : undefined;
}
