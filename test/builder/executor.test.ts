// The executor's sharing rules, with a fake engine: which actions run again under noCache.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createExecutor, shareImplicitActions, type ExecutorOptions } from '../../src/builder/index.js';
import { planImplicitAction, type ActionContext, type PlannedAction } from '../../src/plan/index.js';
import { loadSandboxProfile } from '../../src/sandbox/index.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { createFakeEngine } from '../helpers/fake-engine.js';

const OCI = `example.org/base@sha256:${'a'.repeat(64)}`;

async function setup() {
  const context: ActionContext = { profile: await loadSandboxProfile(), sourceDateEpoch: 1700000000 };
  const assembly = planImplicitAction({ name: 'image:tools', image: { kind: 'oci', ref: OCI }, argv: ['assemble'], env: {}, user: '0:0', mounts: [] }, context);
  // The same action as a recipe step would plan it: not kiln's own.
  const { implicit: _, ...step } = { ...assembly, name: 'compile' };
  const engine = createFakeEngine(() => ({ files: { 'out.txt': 'x' }, delayMs: 30 }));
  const store = createMemoryStore();
  const executor = (extra: Partial<ExecutorOptions>) =>
    createExecutor({ store, engine: async () => engine, reporter: () => {}, signal: new AbortController().signal, maxDecompressedBytes: 1 << 20, noCache: true, ...extra });
  return { assembly, step: step as PlannedAction, engine, executor };
}

const subject = { describe: 'an action', image: 'tools' };
const sharing = suite('executor: implicit actions shared between builds');

sharing('builds handed the same shared set run an image assembly once, even with noCache, and at the same time', async () => {
  const { assembly, engine, executor } = await setup();
  const implicitActions = shareImplicitActions();
  const [a, b] = await Promise.all([executor({ implicitActions }).execute(assembly, subject), executor({ implicitActions }).execute(assembly, subject)]);
  const c = await executor({ implicitActions }).execute(assembly, subject);
  assert.is(engine.runs.length, 1);
  assert.is(a.outputTree, b.outputTree);
  assert.is(c.outputTree, a.outputTree);
  assert.is([a, b, c].filter((o) => !o.cached).length, 1);
});

sharing("a recipe step is run by every noCache build, shared set or not: the check's builds must each run it", async () => {
  const { step, engine, executor } = await setup();
  const implicitActions = shareImplicitActions();
  await executor({ implicitActions }).execute(step, subject);
  await executor({ implicitActions }).execute(step, subject);
  assert.is(engine.runs.length, 2);
});

sharing('without a shared set, each noCache build assembles its image again', async () => {
  const { assembly, engine, executor } = await setup();
  await executor({}).execute(assembly, subject);
  await executor({}).execute(assembly, subject);
  assert.is(engine.runs.length, 2);
});

sharing.run();
