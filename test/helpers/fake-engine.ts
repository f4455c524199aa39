import type { Engine, EngineAction, EngineResult, EngineRunIO } from '../../src/sandbox/types.js';
import type { TreeEntry } from '../../src/store/index.js';

/** What the fake engine does for one action: its exit code, what it prints, what it leaves in the output folder. */
export interface FakeOutcome {
  exitCode?: number;
  stdout?: string;
  /** Output files by path (content as text); executable when the path ends with `*`. */
  files?: Record<string, string>;
  delayMs?: number;
}

/** A fake engine and what it saw: for tests of planning and execution logic, never of isolation. */
export interface FakeEngine extends Engine {
  /** Every action run, in the order they started. */
  readonly runs: EngineAction[];
  /** The most actions that were running at once. */
  readonly peak: number;
}

/**
 * An engine that runs nothing: `behave(action)` says what the action did, and its output files
 * become a real tree in the run's store, as a real engine's output folder would.
 */
export function createFakeEngine(behave: (action: EngineAction) => FakeOutcome = () => ({})): FakeEngine {
  const runs: EngineAction[] = [];
  let running = 0;
  let peak = 0;
  async function run(action: EngineAction, io: EngineRunIO): Promise<EngineResult> {
    io.signal?.throwIfAborted();
    runs.push(action);
    running++;
    peak = Math.max(peak, running);
    try {
      const outcome = behave(action);
      if (outcome.delayMs) await new Promise((r) => setTimeout(r, outcome.delayMs));
      if (outcome.stdout) io.onOutput?.(Buffer.from(outcome.stdout), 'stdout');
      io.onImage?.(action.image.kind === 'tree' ? 'import' : 'pull');
      const exitCode = outcome.exitCode ?? 0;
      const executor = { engine: 'fake', version: 'fake 1' };
      if (exitCode !== 0) return { exitCode, durationMs: 1, executor };
      const entries: TreeEntry[] = [];
      for (const [name, content] of Object.entries(outcome.files ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
        const executable = name.endsWith('*');
        const put = await io.store.putBytes(content);
        entries.push({ path: executable ? name.slice(0, -1) : name, type: 'file', mode: executable ? 0o755 : 0o644, digest: put.digest, size: put.size });
      }
      const outputTree = await io.store.putTree({ kiln: 'tree/v1', entries });
      return { exitCode: 0, outputTree, durationMs: 1, executor };
    } finally {
      running--;
    }
  }
  return {
    kind: 'docker',
    describe: async () => ({ engine: 'fake', version: 'fake 1' }),
    run,
    runs,
    get peak() {
      return peak;
    },
  };
}
