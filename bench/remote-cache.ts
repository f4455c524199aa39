// The shared cache over REAPI (issue: outgrow one machine, part 2).
//   node dist/bench/remote-cache.js          (starts scripts/buildbarn.sh when it is not up)
// 1. A chain of 20 trivial steps, built once with `--remote-cache` and a signing key (machine A).
//    Then, side by side in rounds: `kiln build` in a FRESH store with the same remote cache and
//    `--cache-trust` (a second machine: every step comes from the cache, signature checked, tree
//    and log pulled into the store) against the local all-cached no-op `kiln build` in A's store
//    (target ≤ 2×). BENCH_RUNS rounds (default 5), medians.
// 2. A large output tree (BENCH_TREE_MIB, default 160 MiB in 2,000 files, 8 over 4 MiB) uploaded
//    as a signed cache entry twice: the second upload must move no blob (FindMissingBlobs says none).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSigner, generateKeyPair } from '../src/attest/index.js';
import { createReapiClient } from '../src/reapi/index.js';
import { uploadEntry } from '../src/remote-cache/index.js';
import { createStore } from '../src/store/index.js';
import { canonicalJSON } from '../src/util/canonical-json.js';
import { sha256Digest } from '../src/util/digest.js';
import { makeTempDir, repoRoot } from '../test/helpers/index.js';
import { writeRecipe } from '../test/helpers/recipes.js';
import { ensureCluster } from '../test/reapi/cluster.js';
import { fmt, median, putLargeTree, timeCommand } from './util.js';

const STEPS = 20;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TREE_MIB = Number(process.env.BENCH_TREE_MIB ?? 160);
const now = () => Number(process.hrtime.bigint()) / 1e6;

const cluster = ensureCluster();
const { dir, cleanup } = await makeTempDir('kiln-bench-rc-');
try {
  // A fresh token: the chain's action keys are new to the cluster whatever earlier runs left.
  const token = randomUUID();
  let body = 'steps:\n';
  for (let i = 0; i < STEPS; i++) body += `  s${i}: { image: base, ${i ? `needs: [s${i - 1}], ` : ''}run: "echo ${token} ${i} > $KILN_OUT/n" }\n`;
  body += `artifacts: [{ from: s${STEPS - 1}, path: n }]\n`;
  await writeRecipe(dir, body);
  const kiln = join(repoRoot(), 'bin', 'kiln.js');
  timeCommand(process.execPath, [kiln, 'keygen', '--out', join(dir, 'ci')]);
  const env = (store: string) => ({ ...process.env, KILN_STORE: store, KILN_REMOTE_CACHE: '', KILN_SIGN_KEY: '' });
  const storeA = join(dir, 'store-a');
  const remote = ['--remote-cache', cluster.endpoint];

  // Machine A fills the remote cache (and its own store).
  const fill = timeCommand(process.execPath, [kiln, 'build', dir, '--out', join(dir, 'out-a'), '--jobs', '1', ...remote, '--cache-sign-key', join(dir, 'ci.key')], { env: env(storeA) });
  const expected = JSON.parse(readFileSync(join(dir, 'out-a', 'build.json'), 'utf8')).artifacts[0].digests.sha256;

  const fresh: number[] = [];
  const noop: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const store = mkdtempSync(join(dir, 'store-b-'));
    const out = join(dir, `out-b${r}`);
    fresh.push(timeCommand(process.execPath, [kiln, 'build', dir, '--out', out, '--jobs', '1', ...remote, '--cache-trust', join(dir, 'ci.pub'), '--no-cache-upload'], { env: env(store) }));
    const summary = JSON.parse(readFileSync(join(out, 'build.json'), 'utf8'));
    const fromRemote = Object.values(summary.steps as Record<string, { origin?: unknown }>).filter((s) => s.origin).length;
    if (fromRemote !== STEPS || summary.artifacts[0].digests.sha256 !== expected) throw new Error(`the fresh store ran steps (${fromRemote}/${STEPS} from the cache) or made other bytes`);
    noop.push(timeCommand(process.execPath, [kiln, 'build', dir, '--out', join(dir, 'out-a')], { env: env(storeA) }));
  }
  const f = median(fresh);
  const n = median(noop);
  console.log(`chain of ${STEPS} steps (machine A filled the cache in ${fmt(fill)}), median of ${RUNS} rounds:`);
  console.log(`  fresh store + warm remote cache (kiln build --remote-cache … --cache-trust …)  ${fmt(f)}`);
  console.log(`  local all-cached no-op (kiln build, A's store)                                 ${fmt(n)}`);
  console.log(`  ratio                                                                           ${(f / n).toFixed(2)}×  (target ≤ 2×)`);

  // 2. A large output tree shared twice as a signed entry.
  const store = await createStore({ root: join(dir, 'store-tree') });
  const entries = await putLargeTree(store, TREE_MIB);
  const outputTree = await store.putTree({ kiln: 'tree/v1', entries: [{ path: 'lib', type: 'dir' }, ...entries] });
  const log = (await store.putBytes(`log ${randomUUID()}\n`)).digest;
  const keyMaterial = canonicalJSON({ kiln: 'bench-action/v1', token: randomUUID() });
  const share = { actionKey: sha256Digest(keyMaterial), keyMaterial, outputTree, log };
  const signer = createSigner(generateKeyPair().privateKeyPem);
  const client = createReapiClient({ endpoint: cluster.endpoint });
  try {
    let t0 = now();
    const first = await uploadEntry(client, store, share, signer);
    const firstMs = now() - t0;
    t0 = now();
    const second = await uploadEntry(client, store, share, signer);
    const secondMs = now() - t0;
    const totalBytes = entries.reduce((s, e) => s + (e.type === 'file' ? e.size : 0), 0);
    console.log(`output tree of ${entries.length} files, ${(totalBytes / 1024 / 1024).toFixed(0)} MiB, shared as a signed cache entry:`);
    console.log(`  first upload    ${fmt(firstMs)}  ${first.missing}/${first.blobs} blobs missing, ${(first.uploadedBytes / 1024 / 1024).toFixed(1)} MiB sent (${first.streamed} through ByteStream)`);
    console.log(`  second upload   ${fmt(secondMs)}  ${second.missing}/${second.blobs} blobs missing, ${second.uploadedBytes} bytes sent (target: none)`);
    if (second.missing !== 0) process.exitCode = 1;
  } finally {
    client.close();
  }
} finally {
  await cleanup();
}
