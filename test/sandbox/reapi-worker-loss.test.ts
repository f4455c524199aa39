// A farm that loses a worker mid-build still finishes the build on the other one. This breaks
// its cluster, so it starts one of its own (scripts/buildbarn.sh on other ports, its own state)
// and never touches the shared one. About 80 s: Buildbarn's scheduler gives a silent worker one
// minute (fixed in bb_scheduler) before it fails that worker's action as UNAVAILABLE, which the
// reapi engine answers by submitting the action again.
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { build, type BuildEvent } from '../../src/builder/index.js';
import { createStore } from '../../src/store/index.js';
import { writeBusyboxRootfs } from '../helpers/recipes.js';
import { makeTempDir } from '../helpers/index.js';
import { startDedicatedCluster } from '../reapi/cluster.js';

const WORKER_2 = '{"cluster":"kiln-test","worker":"2"}';

/** Two independent steps of `seconds` each: with two workers, one runs on each. */
async function twoSleepers(dir: string, seconds: number): Promise<string> {
  const rootfs = await writeBusyboxRootfs(dir);
  const step = (name: string) => [`  ${name}:`, '    image: base', `    run: sleep ${seconds}; echo ${name} > $KILN_OUT/${name}.txt`];
  const recipe = [
    'kiln: 1',
    'name: sleepers',
    'sourceDateEpoch: 1700000000',
    'inputs:',
    `  rootfs: { path: ${rootfs.file}, integrity: ${rootfs.integrity} }`,
    'images:',
    '  base: { rootfs: rootfs }',
    'steps:',
    ...step('a'),
    ...step('b'),
    'artifacts:',
    '  - { from: a, path: "*.txt" }',
    '  - { from: b, path: "*.txt" }',
  ].join('\n');
  await writeFile(join(dir, 'kiln.yaml'), recipe + '\n');
  return join(dir, 'kiln.yaml');
}

/** True when worker `n` of the cluster has an action's input root in its build folder. */
const busy = (state: string, n: number) => readdirSync(join(state, `worker-${n}`, 'build')).length > 0;

const loss = suite('reapi engine: a worker lost mid-build');

loss('killing one bb_worker while both run a step: the build finishes on the other, and the provenance record says so', async () => {
  const cluster = startDedicatedCluster();
  const { dir, cleanup } = await makeTempDir();
  try {
    const recipe = await twoSleepers(dir, 8);
    const events: BuildEvent[] = [];
    const building = build({
      recipe, out: join(dir, 'out'), store: await createStore({ root: join(dir, 'store') }), noCache: true, attest: false, jobs: 2,
      engineChoice: { kind: 'reapi', remote: { executor: cluster.endpoint } }, reporter: (e) => events.push(e),
    });
    building.catch(() => undefined);
    const deadline = Date.now() + 60_000;
    while (!(busy(cluster.state, 1) && busy(cluster.state, 2))) {
      assert.ok(Date.now() < deadline, 'both workers took a step within a minute');
      await sleep(100);
    }
    process.kill(cluster.pid('worker-1'), 'SIGKILL');
    const summary = await building;
    assert.equal(summary.artifacts.map((a) => a.name).sort(), ['a.txt', 'b.txt']);
    const records = ['a', 'b'].map((s) => summary.steps[s]!.executor as Record<string, any>);
    for (const r of records) assert.is(r.worker, WORKER_2, 'every step finished on the worker that stayed');
    const resubmitted = records.flatMap((r) => r.resubmitted ?? []);
    assert.is(resubmitted.length, 1, 'exactly the lost worker\'s step was submitted again');
    assert.match(resubmitted[0], /UNAVAILABLE.*"worker":"1".*disappeared/);
    assert.not.ok(events.some((e) => e.type === 'step-failed'));
  } finally {
    cluster.stop();
    await cleanup();
  }
});

loss.run();
