// The REAPI client against a real Buildbarn cluster on 127.0.0.1 (scripts/buildbarn.sh; started
// here when .ci/run has not started it).
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildMerkleTree,
  createReapiClient,
  digestKey,
  digestOfBytes,
  merkleTreeMessage,
  type ReapiClient,
  type ReapiError,
  storeBlobOpener,
  toReapiDigest,
} from '../../src/reapi/index.js';
import { splitTree } from '../../src/reapi/tree-wire.js';
import { createStore, type Store, type TreeManifest } from '../../src/store/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { busyboxLayers, ensureCluster, PLATFORM, shellCommand } from './cluster.js';

const cluster = ensureCluster();

interface Ctx {
  client: ReapiClient;
  store: Store;
  dir: string;
  cleanup: () => Promise<void>;
}

async function setup(ctx: Ctx): Promise<void> {
  const tmp = await makeTempDir('kiln-reapi-');
  ctx.dir = tmp.dir;
  ctx.cleanup = tmp.cleanup;
  ctx.store = await createStore({ root: tmp.dir });
  ctx.client = createReapiClient({ endpoint: cluster.endpoint });
}

async function teardown(ctx: Ctx): Promise<void> {
  ctx.client.close();
  await ctx.cleanup();
}

/** Runs `script` in the busybox image on the cluster; a unique salt makes each run a new action. */
async function run(ctx: Ctx, script: string, options: { timeoutMs?: number; cached?: boolean } = {}) {
  return ctx.client.runAction(
    {
      layers: await busyboxLayers(ctx.store),
      command: shellCommand(script),
      platform: PLATFORM,
      open: storeBlobOpener(ctx.store),
      ...(options.timeoutMs && { timeoutMs: options.timeoutMs }),
      ...(!options.cached && { salt: randomBytes(16) }),
    },
  );
}

const stdoutOf = async (ctx: Ctx, result: Parameters<ReapiClient['readLogs']>[0]) => (await ctx.client.readLogs(result)).stdout.toString();

const Cas = suite<Ctx>('Buildbarn: CAS, ByteStream, action cache');
Cas.before.each(setup);
Cas.after.each(teardown);

Cas('reports sha256, execution, and REAPI 2.1 or later (output_paths)', async ({ client }) => {
  const caps = await client.capabilities();
  assert.ok(caps.cacheCapabilities?.digestFunctions.includes('SHA256'));
  assert.ok(caps.executionCapabilities?.execEnabled);
  const high = caps.highApiVersion!;
  assert.ok(high.major > 2 || (high.major === 2 && high.minor >= 1), `API ${high.major}.${high.minor}`);
});

Cas('a small blob: missing, uploaded in a batch, then present and read back the same', async ({ client }) => {
  const bytes = randomBytes(1000);
  const d = digestOfBytes(bytes);
  assert.equal(await client.findMissingBlobs([d]), [d]);
  const report = await client.uploadMissing([{ digest: d, bytes }]);
  assert.equal(report, { blobs: 1, missing: 1, uploadedBytes: 1000, streamed: 0 });
  assert.equal(await client.findMissingBlobs([d]), []);
  assert.ok((await client.readBlob(d)).equals(bytes));
});

Cas('a blob larger than a batch goes through ByteStream both ways, verified, into the store', async ({ client, store }) => {
  const bytes = randomBytes(9 * 1024 * 1024 + 7);
  const d = digestOfBytes(bytes);
  const report = await client.uploadMissing([{ digest: d, bytes }]);
  assert.is(report.streamed, 1);
  assert.ok((await client.readBlob(d)).equals(bytes));
  const put = await store.putStream(client.openBlobStream(d), { digest: `sha256:${d.hash}` });
  assert.is(put.size, bytes.length);
});

Cas('an output tree stored in the action cache comes back as the same kiln tree', async ({ client, store, dir }) => {
  const a = await store.putBytes('#!/bin/sh\necho hi\n');
  const b = await store.putBytes(randomBytes(5 * 1024 * 1024));
  const manifest: TreeManifest = {
    kiln: 'tree/v1',
    entries: [
      { path: 'bin', type: 'dir' },
      { path: 'bin/hello', type: 'symlink', target: 'hi' },
      { path: 'bin/hi', type: 'file', mode: 0o755, digest: a.digest, size: a.size },
      { path: 'data.bin', type: 'file', mode: 0o644, digest: b.digest, size: b.size },
    ],
  };
  const merkle = buildMerkleTree([{ prefix: '', source: { kind: 'tree', manifest } }]);
  const tree = merkleTreeMessage(merkle);
  await client.uploadInputRoot(merkle, storeBlobOpener(store), [tree]);
  const actionDigest = digestOfBytes(randomBytes(32)); // any digest names an AC entry
  assert.is(await client.getActionResult(actionDigest), undefined);
  await client.updateActionResult(actionDigest, { exitCode: 0, outputDirectories: [{ path: 'kiln/out', treeDigest: tree.digest, isTopologicallySorted: false }] });
  const result = await client.getActionResult(actionDigest);
  assert.ok(result);
  assert.equal(result.outputDirectories.map((o) => [o.path, digestKey(o.treeDigest)]), [['kiln/out', digestKey(tree.digest)]]);
  const fresh = await createStore({ root: `${dir}/fresh` });
  const back = await client.fetchOutputDirectory(result, 'kiln/out', fresh);
  assert.equal(back.manifest, manifest);
  assert.is(back.tree, await store.putTree(manifest));
  assert.is(back.fetchedBlobs, 2);
  assert.ok((await fresh.readBlob(a.digest)).toString().includes('echo hi'));
});

Cas('TLS: answers over grpcs with the cluster CA, and is refused without it', async () => {
  const ca = readFileSync(cluster.tlsCa);
  const tls = createReapiClient({ endpoint: cluster.tlsEndpoint, tls: { ca } });
  const untrusting = createReapiClient({ endpoint: cluster.tlsEndpoint, retry: { maxAttempts: 1 } });
  try {
    assert.ok((await tls.capabilities()).executionCapabilities?.execEnabled);
    await rejectsWithCode(() => untrusting.capabilities(), 'KILN_REAPI_UNAVAILABLE');
  } finally {
    tls.close();
    untrusting.close();
  }
});

const Exec = suite<Ctx>('Buildbarn: execution');
Exec.before.each(setup);
Exec.after.each(teardown);

Exec('runs a step in its busybox input root and brings kiln/out back into the store', async (ctx) => {
  const r = await run(ctx, [
    'echo "$KILN_OUT" > $KILN_OUT/where',
    'mkdir $KILN_OUT/sub && printf "#!/bin/sh\\n" > $KILN_OUT/sub/tool && chmod 755 $KILN_OUT/sub/tool',
    'ln -s sub/tool $KILN_OUT/link',
    'ls / | tr "\\n" " "',
  ].join('\n'));
  assert.is(r.result.exitCode, 0);
  assert.is(r.cachedResult, false);
  // The step's `/` is the input root: the image, /dev from the worker, /proc from the runner's
  // installer (scripts/buildbarn/proc-installer.mjs), /kiln.
  assert.is((await stdoutOf(ctx, r.result)).trim(), 'bin dev etc kiln proc root tmp usr');
  const out = await ctx.client.fetchOutputDirectory(r.result, '../out', ctx.store);
  assert.equal(out.manifest.entries.map((e) => [e.path, e.type, e.type === 'file' ? e.mode : e.type === 'symlink' ? e.target : '']), [
    ['link', 'symlink', 'sub/tool'],
    ['sub', 'dir', ''],
    ['sub/tool', 'file', 0o755],
    ['where', 'file', 0o644],
  ]);
  const where = out.manifest.entries.find((e) => e.path === 'where')!;
  assert.is((await ctx.store.readBlob(where.type === 'file' ? where.digest : 'sha256:')).toString(), '/kiln/out\n');
  const worker = JSON.parse(r.result.executionMetadata!.worker) as { cluster: string; worker: string };
  assert.is(worker.cluster, 'kiln-test');
  assert.ok(['1', '2'].includes(worker.worker));
});

Exec('Directory messages are byte for byte what Buildbarn (Go protobuf) writes', async (ctx) => {
  const r = await run(ctx, 'mkdir -p $KILN_OUT/a/b && echo x > $KILN_OUT/a/b/f && echo y > $KILN_OUT/e && chmod +x $KILN_OUT/e && ln -s a $KILN_OUT/s && : > $KILN_OUT/empty');
  const out = await ctx.client.fetchOutputDirectory(r.result, '../out', ctx.store);
  const theirs = splitTree(await ctx.client.readBlob(r.result.outputDirectories[0]!.treeDigest), 100);
  const ours = buildMerkleTree([{ prefix: '', source: { kind: 'tree', manifest: out.manifest } }]);
  assert.is(digestOfBytes(theirs.root).hash, ours.root.hash);
  assert.equal(new Set(theirs.children.map((c) => digestOfBytes(c).hash)), new Set([...ours.directories.keys()].filter((h) => h !== ours.root.hash)));
});

Exec('the step has no network: only `lo`, and a server on the host\'s 127.0.0.1 is out of reach', async (ctx) => {
  let hits = 0;
  const server = createServer((_req, res) => { hits++; res.end('reached\n'); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    assert.is(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'reached\n'); // reachable from the host
    hits = 0;
    const r = await run(ctx, `ip -o link | cut -d: -f2 | tr -d ' '; wget -q -T 5 -O- http://127.0.0.1:${port}/ && echo REACHED || echo UNREACHABLE`);
    assert.equal((await stdoutOf(ctx, r.result)).trim().split('\n'), ['lo', 'UNREACHABLE']);
    assert.is(hits, 0);
  } finally {
    server.close();
  }
});

Exec('the step runs as 1000:1000 on a host named kiln, like the Docker sandbox', async (ctx) => {
  const r = await run(ctx, 'id -u; id -g; uname -n; hostname; echo x > /dev/null && echo devnull-ok; touch /bin/x 2>/dev/null || echo image-files-read-only; echo more >> /bin/busybox 2>/dev/null || echo busybox-unchanged');
  assert.equal((await stdoutOf(ctx, r.result)).trim().split('\n'), ['1000', '1000', 'kiln', 'kiln', 'devnull-ok', 'busybox-unchanged']);
});

Exec('a step cannot start more than 1,024 processes, and what it leaves running is killed after it', async (ctx) => {
  const marker = `kiln-leftover-${randomBytes(6).toString('hex')}`;
  // Background processes get /dev/null for output: an open stdout would keep the step running.
  const r = await run(ctx, [
    `/bin/sh -c ': ${marker}; sleep 300' </dev/null >/dev/null 2>&1 & echo "leftover $!"`,
    `for i in $(seq 1 1100); do sleep 120 </dev/null >/dev/null 2>&1 & done 2>&1 | grep -c "can't fork"`,
  ].join('\n'));
  const [leftover, failedForks] = (await stdoutOf(ctx, r.result)).trim().split('\n');
  assert.match(leftover!, /^leftover \d+$/);
  assert.ok(Number(failedForks) > 0, `forks refused: ${failedForks}`);
  const deadline = Date.now() + 20_000;
  const leftovers = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker); } catch { return false; }
  });
  while (leftovers().length > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
  assert.equal(leftovers(), []);
});

Exec('a non-zero exit is a result with its exit code, not an error', async (ctx) => {
  const r = await run(ctx, 'echo failing >&2; exit 3');
  assert.is(r.result.exitCode, 3);
  assert.is((await ctx.client.readLogs(r.result)).stderr.toString(), 'failing\n');
});

Exec('the action timeout stops a long step: KILN_REAPI_EXECUTION with DEADLINE_EXCEEDED', async (ctx) => {
  const t0 = Date.now();
  const err = await rejectsWithCode<ReapiError>(() => run(ctx, 'sleep 60', { timeoutMs: 1500 }), 'KILN_REAPI_EXECUTION');
  assert.is(err.grpcCode, 4);
  assert.ok(Date.now() - t0 < 30_000);
});

Exec('the worker caches a successful result: the same action again runs nothing', async (ctx) => {
  const script = `echo cached-${randomBytes(8).toString('hex')} > $KILN_OUT/x`;
  const first = await run(ctx, script, { cached: true });
  const second = await run(ctx, script, { cached: true });
  assert.is(first.cachedResult, false);
  assert.is(second.cachedResult, true);
  assert.is(second.operationName, '');
  assert.equal(second.actionDigest, first.actionDigest);
  assert.equal(second.result.outputDirectories, first.result.outputDirectories);
});

Exec('two workers run two actions at the same time', async (ctx) => {
  const [a, b] = await Promise.all([run(ctx, 'sleep 3; echo a'), run(ctx, 'sleep 3; echo b')]);
  const workerOf = (r: typeof a) => JSON.parse(r.result.executionMetadata!.worker).worker as string;
  assert.is.not(workerOf(a), workerOf(b));
  const span = (r: typeof a) => {
    const m = r.result.executionMetadata!;
    return [m.executionStartTimestamp!.seconds * 1000 + m.executionStartTimestamp!.nanos / 1e6, m.executionCompletedTimestamp!.seconds * 1000 + m.executionCompletedTimestamp!.nanos / 1e6];
  };
  const [as, ae] = span(a);
  const [bs, be] = span(b);
  assert.ok(as! < be! && bs! < ae!, 'the two executions overlap');
});

Exec('an input root made of many layers is uploaded once: a second upload finds nothing missing', async ({ client, store }) => {
  const files = await Promise.all(Array.from({ length: 50 }, (_, i) => store.putBytes(`file ${i} ${randomBytes(8).toString('hex')}`)));
  const manifest: TreeManifest = {
    kiln: 'tree/v1',
    entries: [{ path: 'd', type: 'dir' }, ...files.map((f, i) => ({ path: `d/f${String(i).padStart(2, '0')}`, type: 'file' as const, mode: 0o644 as const, digest: f.digest, size: f.size }))],
  };
  const layers = [...(await busyboxLayers(store)), { prefix: 'kiln/inputs/src', source: { kind: 'tree' as const, manifest } }];
  const merkle = buildMerkleTree(layers);
  const first = await client.uploadInputRoot(merkle, storeBlobOpener(store));
  const second = await client.uploadInputRoot(merkle, storeBlobOpener(store));
  assert.ok(first.missing >= 50);
  assert.equal(second, { blobs: first.blobs, missing: 0, uploadedBytes: 0, streamed: 0 });
  assert.equal(await client.findMissingBlobs([toReapiDigest(files[0]!.digest, files[0]!.size)]), []);
});

Cas.run();
Exec.run();
