// Remote execution through the local Buildbarn cluster (issue: REAPI foundation).
//   node dist/bench/reapi-overhead.js        (starts scripts/buildbarn.sh when it is not up)
// 1. Per-action overhead: 20 trivial actions in a row through the cluster (each a new Action,
//    so none is answered from the cache) against 20 × `docker run --rm --network none` of the
//    same busybox command, side by side, BENCH_RUNS rounds (default 3), medians.
// 2. A large input tree (BENCH_TREE_MIB, default 160 MiB in 2,000 files, 8 over 4 MiB) uploaded
//    twice: the second upload must move no blob (FindMissingBlobs says none).
import { randomBytes } from 'node:crypto';
import Dockerode from 'dockerode';
import { Readable } from 'node:stream';
import {
  buildMerkleTree,
  createReapiClient,
  type ExecutedActionMetadata,
  type Timestamp,
  storeBlobOpener,
} from '../src/reapi/index.js';
import { createDockerEngine } from '../src/sandbox/docker.js';
import { loadSandboxProfile } from '../src/sandbox/index.js';
import { createStore } from '../src/store/index.js';
import { busyboxRootfs } from '../test/helpers/busybox.js';
import { makeTempDir } from '../test/helpers/index.js';
import { busyboxLayers, ensureCluster, PLATFORM, shellCommand } from '../test/reapi/cluster.js';
import { fmt, median, putLargeTree, timeCommand } from './util.js';

const ACTIONS = 20;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TREE_MIB = Number(process.env.BENCH_TREE_MIB ?? 160);

const ms = (t: Timestamp | null | undefined) => (t ? t.seconds * 1000 + t.nanos / 1e6 : NaN);
const now = () => Number(process.hrtime.bigint()) / 1e6;

const cluster = ensureCluster();
const client = createReapiClient({ endpoint: cluster.endpoint });
const { dir, cleanup } = await makeTempDir('kiln-bench-reapi-');
try {
  const store = await createStore({ root: dir });
  const layers = await busyboxLayers(store);
  const { profile } = await loadSandboxProfile();
  const { bytes, digest } = await busyboxRootfs();
  const image = await createDockerEngine({ profile, docker: new Dockerode() }).ensureTreeImage(digest, () => Readable.from([bytes]));

  // Warm-up: the input root reaches the CAS and the workers' file caches once.
  await client.runAction({ layers, command: shellCommand('true'), platform: PLATFORM, open: storeBlobOpener(store), salt: randomBytes(8) });
  timeCommand('docker', ['run', '--rm', '--network', 'none', image, '/bin/sh', '-c', 'true']);

  const remote: number[] = [];
  const remoteWithOutput: number[] = [];
  const docker: number[] = [];
  const phases: { queue: number[]; fetch: number[]; exec: number[]; upload: number[] } = { queue: [], fetch: [], exec: [], upload: [] };
  for (let r = 0; r < RUNS; r++) {
    let total = 0;
    let totalWithOutput = 0;
    const salt = randomBytes(8).toString('hex');
    for (let i = 0; i < ACTIONS; i++) {
      const t0 = now();
      const run = await client.runAction({ layers, command: shellCommand(`echo ${salt}-${i} > $KILN_OUT/n`), platform: PLATFORM, open: storeBlobOpener(store) });
      const t1 = now();
      await client.fetchOutputDirectory(run.result, '../out', store);
      const t2 = now();
      if (run.cachedResult || run.result.exitCode !== 0) throw new Error('the bench action was not run, or failed');
      total += t1 - t0;
      totalWithOutput += t2 - t0;
      const m = run.result.executionMetadata as ExecutedActionMetadata;
      phases.queue.push(ms(m.workerStartTimestamp) - ms(m.queuedTimestamp));
      phases.fetch.push(ms(m.inputFetchCompletedTimestamp) - ms(m.inputFetchStartTimestamp));
      phases.exec.push(ms(m.executionCompletedTimestamp) - ms(m.executionStartTimestamp));
      phases.upload.push(ms(m.outputUploadCompletedTimestamp) - ms(m.outputUploadStartTimestamp));
    }
    remote.push(total);
    remoteWithOutput.push(totalWithOutput);
    let d = 0;
    for (let i = 0; i < ACTIONS; i++) {
      d += timeCommand('docker', ['run', '--rm', '--network', 'none', image, '/bin/sh', '-c', `echo ${salt}-${i} > /dev/null`]);
    }
    docker.push(d);
  }
  const rm = median(remote);
  const ro = median(remoteWithOutput);
  const dm = median(docker);
  console.log(`${ACTIONS} trivial actions in a row, median of ${RUNS} rounds:`);
  console.log(`  Buildbarn: upload check + Execute         ${fmt(rm)}  (${fmt(rm / ACTIONS)} per action)`);
  console.log(`  Buildbarn: … + kiln/out into the store    ${fmt(ro)}  (${fmt(ro / ACTIONS)} per action)`);
  console.log(`  docker run --rm --network none            ${fmt(dm)}  (${fmt(dm / ACTIONS)} per run)`);
  console.log(`  ratio (with output) / docker              ${(ro / dm).toFixed(2)}×  (target ≤ 1.0×)`);
  console.log(`  worker phases, median per action: queued ${fmt(median(phases.queue))}, input fetch ${fmt(median(phases.fetch))}, run ${fmt(median(phases.exec))}, output upload ${fmt(median(phases.upload))}`);

  // 2. A large tree, uploaded twice.
  const entries = await putLargeTree(store, TREE_MIB);
  const manifest = { kiln: 'tree/v1' as const, entries: [{ path: 'lib', type: 'dir' as const }, ...entries] };
  const tree = buildMerkleTree([...layers, { prefix: 'opt/toolchain', source: { kind: 'tree', manifest } }]);
  const totalBytes = entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
  let t0 = now();
  const first = await client.uploadInputRoot(tree, storeBlobOpener(store));
  const firstMs = now() - t0;
  t0 = now();
  const second = await client.uploadInputRoot(tree, storeBlobOpener(store));
  const secondMs = now() - t0;
  console.log(`input tree of ${entries.length} files, ${(totalBytes / 1024 / 1024).toFixed(0)} MiB (+ the busybox image):`);
  console.log(`  first upload    ${fmt(firstMs)}  ${first.missing}/${first.blobs} blobs missing, ${(first.uploadedBytes / 1024 / 1024).toFixed(1)} MiB sent (${first.streamed} through ByteStream)`);
  console.log(`  second upload   ${fmt(secondMs)}  ${second.missing}/${second.blobs} blobs missing, ${second.uploadedBytes} bytes sent (target: none)`);
  if (second.missing !== 0) process.exitCode = 1;
} finally {
  client.close();
  await cleanup();
}
