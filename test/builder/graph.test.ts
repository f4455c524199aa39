// build() end to end with a fake engine and a memory store: scheduling, caching, images made
// from steps and failures, with no Docker. Isolation and reproducibility are tested for real elsewhere.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { build, createExecutor, type BuildEvent } from '../../src/builder/index.js';
import { parseRecipe } from '../../src/recipe/index.js';
import type { EngineAction } from '../../src/sandbox/types.js';
import { createFakeEngine, type FakeOutcome } from '../helpers/fake-engine.js';
import { createMemoryStore } from '../helpers/memory-store.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';

const OCI = `example.org/base@sha256:${'a'.repeat(64)}`;
const RECIPE = `kiln: 1
name: chain
sourceDateEpoch: 1700000000
images:
  base: { oci: "${OCI}" }
  made: { step: rootfs }
steps:
  rootfs: { image: base, run: make-rootfs }
  a: { image: made, run: step-a }
  b: { image: made, run: step-b }
  c: { image: base, needs: [a, b], run: step-c }
artifacts:
  - { from: c, path: "*.txt" }
`;

/** Which recipe step an action is, from its script's last line. */
const stepOf = (action: EngineAction): string => action.argv[action.argv.length - 1]!.split('\n').pop()!;

function behaviour(overrides: Record<string, FakeOutcome> = {}): (action: EngineAction) => FakeOutcome {
  return (action) => overrides[stepOf(action)] ?? { files: { [`${stepOf(action)}.txt`]: stepOf(action) }, delayMs: 20 };
}

async function run(options: { recipe?: string; engine: ReturnType<typeof createFakeEngine>; store?: ReturnType<typeof createMemoryStore>; noCache?: boolean; jobs?: number }) {
  const { dir, cleanup } = await makeTempDir();
  const events: BuildEvent[] = [];
  try {
    const recipe = parseRecipe(options.recipe ?? RECIPE, `${dir}/kiln.yaml`);
    const summary = await build({
      recipe, out: `${dir}/out`, store: options.store ?? createMemoryStore(), engine: options.engine, attest: false,
      noCache: options.noCache, jobs: options.jobs ?? 2, reporter: (e) => events.push(e),
    });
    return { summary, events };
  } finally {
    await cleanup();
  }
}

const graph = suite('build graph (fake engine)');

graph('runs a step after the steps it needs and the step its image is made from, at most `jobs` at once', async () => {
  const engine = createFakeEngine(behaviour());
  const { summary } = await run({ engine, jobs: 2 });
  const order = engine.runs.map(stepOf);
  assert.is(order[0], 'make-rootfs');
  assert.equal(order.slice(1, 3).sort(), ['step-a', 'step-b']);
  assert.is(order[3], 'step-c');
  assert.is(engine.peak, 2);
  const rootfsTree = summary.steps.rootfs!.outputTree;
  assert.equal(engine.runs[1]!.image, { kind: 'tree', tree: rootfsTree }, 'the step image is the rootfs step output');
  assert.equal(engine.runs[3]!.mounts.filter((m) => m.path.startsWith('/kiln/steps/')).map((m) => m.path), ['/kiln/steps/a', '/kiln/steps/b']);
  assert.equal(summary.artifacts.map((a) => a.name), ['step-c.txt']);
  assert.is(summary.engine, 'fake 1');
});

graph('with --jobs 1 nothing overlaps', async () => {
  const engine = createFakeEngine(behaviour());
  await run({ engine, jobs: 1 });
  assert.is(engine.peak, 1);
});

graph('a second build in the same store runs nothing and talks to no engine; --no-cache runs everything again', async () => {
  const store = createMemoryStore();
  const first = createFakeEngine(behaviour());
  await run({ engine: first, store });
  const second = createFakeEngine(behaviour());
  const again = await run({ engine: second, store });
  assert.is(second.runs.length, 0);
  assert.is(again.summary.engine, null);
  assert.ok(Object.values(again.summary.steps).every((s) => s.cached));
  assert.is(again.events.filter((e) => e.type === 'step-cached').length, 4);
  const third = createFakeEngine(behaviour());
  await run({ engine: third, store, noCache: true });
  assert.is(third.runs.length, 4);
});

graph('a failing step fails the build with its log tail and a network hint; steps that need it never start', async () => {
  const engine = createFakeEngine(behaviour({ 'step-a': { exitCode: 4, stdout: 'wget: bad address example.org\n' } }));
  const err = await rejectsWithCode<{ step?: string; logTail?: string[]; hint?: string; exitCode: number }>(() => run({ engine }), 'KILN_BUILD_STEP_FAILED');
  assert.is(err.step, 'a');
  assert.equal(err.logTail, ['wget: bad address example.org']);
  assert.match(err.hint ?? '', /no network/);
  assert.is(err.exitCode, 1);
  assert.not.ok(engine.runs.map(stepOf).includes('step-c'));
});

graph('two steps with the same action key running at once run once: the second waits for the first', async () => {
  const recipe = RECIPE.replace('run: step-b', 'run: step-a');
  const engine = createFakeEngine(behaviour());
  const { summary, events } = await run({ engine, recipe });
  assert.is(summary.steps.a!.actionKey, summary.steps.b!.actionKey);
  assert.is(engine.runs.filter((r) => stepOf(r) === 'step-a').length, 1);
  assert.is(summary.steps.a!.outputTree, summary.steps.b!.outputTree);
  assert.is(events.filter((e) => e.type === 'step-cached').length, 1);
});

graph('an aborted build starts nothing more and fails with KILN_BUILD_ABORTED or the abort', async () => {
  const controller = new AbortController();
  const engine = createFakeEngine((action) => {
    if (stepOf(action) === 'make-rootfs') controller.abort();
    return { files: { 'x.txt': 'x' } };
  });
  const { dir, cleanup } = await makeTempDir();
  try {
    const recipe = parseRecipe(RECIPE, `${dir}/kiln.yaml`);
    let threw = false;
    try {
      await build({ recipe, out: `${dir}/out`, store: createMemoryStore(), engine, attest: false, signal: controller.signal });
    } catch {
      threw = true;
    }
    assert.ok(threw);
    assert.equal(engine.runs.map(stepOf), ['make-rootfs']);
  } finally {
    await cleanup();
  }
});

const executor = suite('executor');

executor('prepareImage hands a tree to the engine with the mtime its action will use; an aborted build hands nothing', async () => {
  const store = createMemoryStore();
  const seen: unknown[] = [];
  const fake = createFakeEngine(behaviour());
  const engine = { ...fake, prepareImage: (image: unknown, options: { mtime: number }) => void seen.push([image, options.mtime]) };
  const tree = `sha256:${'c'.repeat(64)}` as const;
  const abort = new AbortController();
  const ex = createExecutor({ store, engine: async () => engine, reporter: () => {}, signal: abort.signal, maxDecompressedBytes: 1 << 30 });
  ex.prepareImage(tree, 1700000000);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(seen, [[{ kind: 'tree', tree }, 1700000000]]);
  abort.abort();
  ex.prepareImage(tree, 1700000000);
  await new Promise((r) => setTimeout(r, 10));
  assert.is(seen.length, 1);
});

graph.run();
executor.run();
