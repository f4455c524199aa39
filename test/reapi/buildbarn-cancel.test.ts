// Cancelling a remote action on the real Buildbarn cluster (slow: Buildbarn ends an abandoned
// operation a minute after its last waiter left).
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createReapiClient, type ReapiError, storeBlobOpener } from '../../src/reapi/index.js';
import { createStore } from '../../src/store/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { busyboxLayers, ensureCluster, PLATFORM, shellCommand } from './cluster.js';

const cluster = ensureCluster();

/** Processes on this host whose command line holds `marker` (the runners' pid namespaces are children of ours). */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) found.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function operationListed(uuid: string): Promise<boolean> {
  const page = await (await fetch(`${cluster.schedulerAdmin}operations?filter_stage=UNKNOWN`)).text();
  return page.includes(uuid);
}

async function waitUntil(what: string, ms: number, test: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) assert.unreachable(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const Cancel = suite('Buildbarn: cancellation');

Cancel('an abort ends the wait at once, and Buildbarn stops the remote command once no client waits', async () => {
  const { dir, cleanup } = await makeTempDir('kiln-reapi-');
  const client = createReapiClient({ endpoint: cluster.endpoint });
  try {
    const store = await createStore({ root: dir });
    const marker = `kiln-cancel-${randomBytes(8).toString('hex')}`;
    const controller = new AbortController();
    let abortedAt = 0;
    const running = client.runAction(
      { layers: await busyboxLayers(store), command: shellCommand(`: ${marker}; sleep 600; echo not reached`), platform: PLATFORM, open: storeBlobOpener(store) },
      {
        signal: controller.signal,
        onStage: (stage) => {
          if (stage !== 'EXECUTING' || abortedAt) return;
          // Abort once the command is seen running on a worker.
          void waitUntil('the command to start', 30_000, () => processesWith(marker).length > 0).then(() => {
            abortedAt = Date.now();
            controller.abort();
          });
        },
      },
    );
    const err = await rejectsWithCode<ReapiError>(() => running, 'KILN_REAPI_ABORTED');
    assert.ok(Date.now() - abortedAt < 2000, 'the client stopped waiting at once');
    // Buildbarn serves no google.longrunning.Operations: CancelOperation is UNIMPLEMENTED.
    assert.is(err.remoteCancel, 'unimplemented');
    const uuid = err.operationName!.split('/').pop()!;
    assert.ok(await operationListed(uuid), 'the operation outlives its waiter for a while');
    await waitUntil('the scheduler to drop the operation', 150_000, async () => !(await operationListed(uuid)));
    await waitUntil('the worker to kill the command', 30_000, () => processesWith(marker).length === 0);
  } finally {
    client.close();
    await cleanup();
  }
});

Cancel.run();
