import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createSigner, generateKeyPair } from '../../src/attest/index.js';
import { build, type BuildEvent, type BuildSummary } from '../../src/builder/index.js';
import { fetchDebianPackages } from '../../src/image/index.js';
import { createReapiClient, digestKey, digestOfBytes, type ActionResult, type ReapiClient, type ReapiDigest } from '../../src/reapi/index.js';
import { createRemoteStore, SIGNATURE_FILE, signCacheEntry, treeForCache, type RemoteCacheOptions } from '../../src/remote-cache/index.js';
import type { Engine } from '../../src/sandbox/types.js';
import { createMemoryStore, createStore, REF } from '../../src/store/index.js';
import { sha256Digest, type Digest } from '../../src/util/digest.js';
import { createFakeEngine } from '../helpers/fake-engine.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { sri, writeRecipe } from '../helpers/recipes.js';
import { ensureCluster } from '../reapi/cluster.js';
import { grpcError, startFakeServer } from '../reapi/fake-server.js';

// The shared cache against a real Buildbarn (scripts/buildbarn.sh, started if down): bb_storage's
// CAS and action cache at grpc://127.0.0.1:<base>. Each test's recipe carries a fresh token, so
// its action keys are new to the cluster whatever earlier runs left in it.

const cluster = ensureCluster();

async function keyPair(dir: string, name: string): Promise<{ key: string; pub: string; keyid: string }> {
  const pair = generateKeyPair();
  await writeFile(join(dir, `${name}.key`), pair.privateKeyPem, { mode: 0o600 });
  await writeFile(join(dir, `${name}.pub`), pair.publicKeyPem);
  return { key: join(dir, `${name}.key`), pub: join(dir, `${name}.pub`), keyid: createSigner(pair.privateKeyPem).keyid };
}

/** Two steps (the second needs the first) and, optionally, a url input the first step reads. */
async function writeChain(dir: string, input?: { url: string; integrity: string }): Promise<string> {
  const token = randomUUID();
  return writeRecipe(dir, `
${input ? `inputs:\n  data: { url: "${input.url}", integrity: "${input.integrity}" }\n` : ''}steps:
  one:
    image: base
    ${input ? 'inputs: [data]\n    ' : ''}run: |
      echo "${token} one" > $KILN_OUT/one.txt
      ${input ? 'cat /kiln/inputs/data >> $KILN_OUT/one.txt' : 'true'}
      mkdir -p $KILN_OUT/d/empty $KILN_OUT/d/e && printf x > $KILN_OUT/d/e/f && ln -s one.txt $KILN_OUT/link
      printf '#!/bin/sh\\necho hi\\n' > $KILN_OUT/exe && chmod 755 $KILN_OUT/exe
  two:
    image: base
    needs: [one]
    run: cat /kiln/steps/one/one.txt /kiln/steps/one/d/e/f > $KILN_OUT/two.txt && echo "${token} two" >> $KILN_OUT/two.txt
artifacts: [{ from: two, path: two.txt }]
`);
}

/** An engine for machines that must run nothing. */
const noEngine: Engine = createFakeEngine(() => {
  throw new Error('a step ran although the shared cache had it');
});

interface Machine {
  summary: BuildSummary;
  events: BuildEvent[];
  ran: string[];
  warnings: string[];
}

/** One build in a fresh store of its own (another machine), with the shared cache. */
async function machine(dir: string, name: string, recipe: string, remoteCache: RemoteCacheOptions, engine?: Engine): Promise<Machine> {
  const events: BuildEvent[] = [];
  const store = await createStore({ root: join(dir, `${name}-store`) });
  const summary = await build({
    recipe, out: join(dir, `${name}-out`), store, reporter: (e) => events.push(e), attest: { signKey: false },
    remoteCache: { fromEnv: false, ...remoteCache }, ...(engine && { engine }),
  });
  return {
    summary,
    events,
    ran: events.flatMap((e) => (e.type === 'step-done' ? [e.step] : [])),
    warnings: events.flatMap((e) => (e.type === 'cache-warning' ? [e.message] : [])),
  };
}

const artifact = (m: Machine) => m.summary.artifacts.map((a) => a.digests.sha256);

const shared = suite('shared cache: a second machine');

shared('a fresh store with the same remote cache runs no step and gets the same bytes, and the provenance says where they came from', async () => {
  const { dir, cleanup } = await makeTempDir('kiln-rc-');
  try {
    const ci = await keyPair(dir, 'ci');
    const recipe = await writeChain(dir);
    const a = await machine(dir, 'a', recipe, { endpoint: cluster.endpoint, signKey: ci.key });
    assert.equal(a.ran.sort(), ['one', 'two']);
    assert.equal(a.warnings, []);

    const b = await machine(dir, 'b', recipe, { endpoint: cluster.endpoint, trust: [ci.pub] }, noEngine);
    assert.equal(b.ran, []);
    assert.is(b.summary.engine, null);
    assert.equal(artifact(b), artifact(a));
    for (const step of ['one', 'two']) {
      assert.is(b.summary.steps[step]!.outputTree, a.summary.steps[step]!.outputTree);
      assert.is(b.summary.steps[step]!.log, a.summary.steps[step]!.log);
      assert.equal(b.summary.steps[step]!.origin, { kind: 'remote-cache', endpoint: cluster.endpoint, instance: '', admittedBy: 'signature', keyid: ci.keyid });
    }
    const statements = JSON.parse(await readFile(join(dir, 'b-out', 'test.statement.json'), 'utf8')) as { statements: Array<{ predicateType: string; predicate: { runDetails: { byproducts: Array<{ name: string; annotations: Record<string, unknown> }> } } }> };
    const provenance = statements.statements.find((s) => s.predicateType === 'https://slsa.dev/provenance/v1')!;
    const byproduct = provenance.predicate.runDetails.byproducts.find((p) => p.name === 'step:one')!;
    assert.equal(byproduct.annotations.remoteCache, { endpoint: cluster.endpoint, instance: '', admittedBy: 'signature', keyid: ci.keyid });

    // The second machine's store now answers alone: no remote, no engine.
    const again = await build({ recipe, out: join(dir, 'b2-out'), store: await createStore({ root: join(dir, 'b-store') }), engine: noEngine, attest: { signKey: false } });
    assert.equal(again.steps.one!.origin, b.summary.steps.one!.origin);
  } finally {
    await cleanup();
  }
});

shared('without a trusted key the entries are refused and the steps run; --trust-remote-cache takes them, saying so', async () => {
  const { dir, cleanup } = await makeTempDir('kiln-rc-');
  try {
    const ci = await keyPair(dir, 'ci');
    const other = await keyPair(dir, 'other');
    const recipe = await writeChain(dir);
    const a = await machine(dir, 'a', recipe, { endpoint: cluster.endpoint, signKey: ci.key });
    const b = await machine(dir, 'b', recipe, { endpoint: cluster.endpoint, trust: [other.pub], upload: false });
    assert.equal(b.ran.sort(), ['one', 'two']);
    assert.ok(b.warnings.some((w) => w.includes('KILN_CACHE_UNTRUSTED')), b.warnings.join('\n'));
    assert.equal(artifact(b), artifact(a));
    const c = await machine(dir, 'c', recipe, { endpoint: cluster.endpoint, trustServer: true, upload: false }, noEngine);
    assert.equal(c.ran, []);
    assert.equal(c.summary.steps.one!.origin, { kind: 'remote-cache', endpoint: cluster.endpoint, instance: '', admittedBy: 'trusted-server' });
    assert.ok(c.warnings.some((w) => w.includes('trusting the remote cache')));
  } finally {
    await cleanup();
  }
});

/** A client that remembers every action cache entry it writes, by the entry key's hash. */
function recording(client: ReapiClient): { client: ReapiClient; entries: Map<string, { digest: ReapiDigest; result: Partial<ActionResult> }> } {
  const entries = new Map<string, { digest: ReapiDigest; result: Partial<ActionResult> }>();
  return {
    entries,
    client: {
      ...client,
      updateActionResult: async (digest, result, options) => {
        entries.set(digest.hash, { digest, result });
        return client.updateActionResult(digest, result, options);
      },
    },
  };
}

/** Machine A through createRemoteStore with a recording client: the test then knows each entry's key. */
async function populate(dir: string, recipe: string, signKey: string) {
  const rec = recording(createReapiClient({ endpoint: cluster.endpoint }));
  const local = await createStore({ root: join(dir, 'a-store') });
  const remote = createRemoteStore({ local, remote: rec.client, trust: { keys: [], trustServer: false }, signer: createSigner(await readFile(signKey, 'utf8')) });
  try {
    const summary = await build({ recipe, out: join(dir, 'a-out'), store: remote, attest: { signKey: false } });
    const entryOf = (step: string) => rec.entries.get(summary.steps[step]!.actionKey.slice('sha256:'.length))!;
    return { summary, local, one: entryOf('one'), two: entryOf('two') };
  } finally {
    remote.close();
  }
}

const attacks = suite('shared cache: a malicious cache');

attacks('forged entries (unsigned, signed by a stranger, a borrowed signature, another tree) are refused and only that step runs again', async () => {
  const { dir, cleanup } = await makeTempDir('kiln-rc-');
  const forger = createReapiClient({ endpoint: cluster.endpoint });
  try {
    const ci = await keyPair(dir, 'ci');
    const recipe = await writeChain(dir);
    const a = await populate(dir, recipe, ci.key);
    const oneKey = a.summary.steps.one!.actionKey;
    const claim = { actionKey: oneKey, outputTree: a.summary.steps.one!.outputTree, log: a.summary.steps.one!.log };

    const stranger = signCacheEntry(claim, createSigner(generateKeyPair().privateKeyPem));
    await forger.uploadBlobs([{ digest: digestOfBytes(stranger), bytes: stranger }]);
    const evil = createMemoryStore();
    const evilFile = await evil.putBytes('evil one\n');
    const evilManifest = { kiln: 'tree/v1' as const, entries: [{ path: 'one.txt', type: 'file' as const, mode: 0o644 as const, digest: evilFile.digest, size: evilFile.size }] };
    const evilTree = treeForCache(evilManifest, await evil.putTree(evilManifest), evil);
    await forger.uploadMissing([...evilTree.sources, evilTree.tree]);

    const signatureOf = (r: Partial<ActionResult>) => r.outputFiles!.filter((f) => f.path === SIGNATURE_FILE);
    const forgeries: Array<[string, Partial<ActionResult>, string]> = [
      ['unsigned', { ...a.one.result, outputFiles: [] }, 'KILN_CACHE_UNSIGNED'],
      ['signed by a stranger', { ...a.one.result, outputFiles: [{ path: SIGNATURE_FILE, digest: digestOfBytes(stranger), isExecutable: false, contents: Buffer.alloc(0) }] }, 'KILN_CACHE_UNTRUSTED'],
      ['the signature of another entry', { ...a.one.result, outputFiles: signatureOf(a.two.result) }, 'KILN_CACHE_MISMATCH'],
      ['another tree under the right signature', { ...a.one.result, outputDirectories: [{ path: 'kiln/out', treeDigest: evilTree.tree.digest, isTopologicallySorted: false }] }, 'KILN_CACHE_MISMATCH'],
    ];
    for (const [what, forged, code] of forgeries) {
      await forger.updateActionResult(a.one.digest, forged);
      const b = await machine(join(dir, what.replace(/ /g, '-')), 'b', recipe, { endpoint: cluster.endpoint, trust: [ci.pub], upload: false });
      assert.equal(b.ran, ['one'], what);
      assert.ok(b.warnings.some((w) => w.includes(code) && w.includes('step "one"')), `${what}: ${b.warnings.join('\n')}`);
      assert.is(b.summary.steps.one!.origin, undefined, what);
      assert.equal(b.summary.steps.two!.origin?.keyid, ci.keyid, what);
      assert.equal(artifact(b), a.summary.artifacts.map((x) => x.digests.sha256), what);
    }
    // Trusting the server takes an unsigned entry, never one whose statement names another tree.
    await forger.updateActionResult(a.one.digest, forgeries[0]![1]);
    const trusting = await machine(join(dir, 'trusting'), 'b', recipe, { endpoint: cluster.endpoint, trustServer: true, upload: false }, noEngine);
    assert.is(trusting.summary.steps.one!.origin?.admittedBy, 'trusted-server');
    await forger.updateActionResult(a.one.digest, forgeries[3]![1]);
    const refusing = await machine(join(dir, 'refusing'), 'b', recipe, { endpoint: cluster.endpoint, trustServer: true, upload: false });
    assert.equal(refusing.ran, ['one']);
    assert.ok(refusing.warnings.some((w) => w.includes('KILN_CACHE_MISMATCH')));

    // A machine that re-ran the step and can sign puts a good entry back.
    const healer = await keyPair(dir, 'healer');
    await machine(join(dir, 'healer'), 'b', recipe, { endpoint: cluster.endpoint, trust: [ci.pub], signKey: healer.key });
    const healed = await machine(join(dir, 'healed'), 'b', recipe, { endpoint: cluster.endpoint, trust: [ci.pub, healer.pub] }, noEngine);
    assert.is(healed.summary.steps.one!.origin?.keyid, healer.keyid);
  } finally {
    forger.close();
    await cleanup();
  }
});

attacks('a cache that serves other bytes than the digest it names is refused, and nothing of them is kept', async () => {
  const { dir, cleanup } = await makeTempDir('kiln-rc-');
  const upstream = createReapiClient({ endpoint: cluster.endpoint });
  try {
    const ci = await keyPair(dir, 'ci');
    const recipe = await writeChain(dir);
    const a = await populate(dir, recipe, ci.key);
    const manifest = await a.local.readTree(a.summary.steps.one!.outputTree);
    const target = manifest.entries.find((e) => e.path === 'one.txt')!;
    if (target.type !== 'file') throw new Error('one.txt is not a file');
    const wrong = Buffer.from((await a.local.readBlob(target.digest)).toString().replace('one', 'eno'));
    const unary = <Req, Res>(work: (req: Req) => Promise<Res>) => (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) =>
      void work(call.request).then((res) => cb(null, res), (err: Error) => cb(grpcError(grpc.status.INTERNAL, err.message)));
    // A CAS in front of the real one that changes one file's bytes and keeps its digest.
    const proxy = await startFakeServer({
      ac: {
        GetActionResult: (call: grpc.ServerUnaryCall<{ actionDigest: ReapiDigest }, ActionResult>, cb: grpc.sendUnaryData<ActionResult>) =>
          void upstream.getActionResult(call.request.actionDigest).then((r) => (r ? cb(null, r) : cb(grpcError(grpc.status.NOT_FOUND, 'miss'))), (e: Error) => cb(grpcError(grpc.status.INTERNAL, e.message))),
      },
      cas: {
        FindMissingBlobs: unary(async (req: { blobDigests: ReapiDigest[] }) => ({ missingBlobDigests: await upstream.findMissingBlobs(req.blobDigests) })),
        BatchReadBlobs: unary(async (req: { digests: ReapiDigest[] }) => {
          const got = await upstream.readBlobs(req.digests);
          return { responses: req.digests.map((d) => ({ digest: d, data: `sha256:${d.hash}` === target.digest ? wrong : got.get(digestKey(d)), status: { code: 0 } })) };
        }),
      },
    });
    try {
      const b = await machine(dir, 'b', recipe, { endpoint: proxy.endpoint, trust: [ci.pub], upload: false });
      assert.equal(b.ran, ['one']);
      assert.ok(b.warnings.some((w) => w.includes('KILN_REAPI_INTEGRITY') && w.includes('step "one"')), b.warnings.join('\n'));
      assert.equal(artifact(b), a.summary.artifacts.map((x) => x.digests.sha256));
      const store = await createStore({ root: join(dir, 'b-store') });
      assert.is(await store.has(sha256Digest(wrong)), false);
    } finally {
      await proxy.close();
    }
  } finally {
    upstream.close();
    await cleanup();
  }
});

const sources = suite('shared cache: pinned bytes by digest');

/** Serves one file on 127.0.0.1 and counts the requests. */
async function serve(body: Buffer): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((_req, res) => {
    requests++;
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/data.txt`, requests: () => requests, close: () => new Promise((r) => server.close(() => r())) };
}

sources('an input whose upstream is gone comes from the remote CAS, found by its pin alone', async () => {
  const { dir, cleanup } = await makeTempDir('kiln-rc-');
  try {
    const ci = await keyPair(dir, 'ci');
    const body = Buffer.from(`pinned ${randomUUID()}\n`);
    const server = await serve(body);
    const recipe = await writeChain(dir, { url: server.url, integrity: sri(body) });
    const a = await machine(dir, 'a', recipe, { endpoint: cluster.endpoint, signKey: ci.key });
    assert.is(server.requests(), 1);
    await server.close();
    const b = await machine(dir, 'b', recipe, { endpoint: cluster.endpoint, trust: [ci.pub] }, noEngine);
    assert.is(b.summary.inputs.data!.digest, a.summary.inputs.data!.digest);
    assert.is(b.summary.inputs.data!.cached, false);
    assert.equal(artifact(b), artifact(a));
  } finally {
    await cleanup();
  }
});

sources('a Debian package comes from the remote CAS by the pin\'s digest and size, before apt; one it lacks is listed as not there', async () => {
  const local = createMemoryStore();
  const client = createReapiClient({ endpoint: cluster.endpoint });
  const writer = createRemoteStore({ local, remote: client, trust: { keys: [], trustServer: false } });
  try {
    const deb = Buffer.from(`!<arch>\nnot really a deb ${randomUUID()}\n`);
    const put = await local.putBytes(deb);
    await writer.setRef(REF.integrity, sri(deb), put.digest);
    await writer.flush();
    const pin = { package: `kiln-test-${randomUUID().slice(0, 8)}`, version: '1.0-1', arch: 'amd64', integrity: sri(deb), size: deb.length, required: false };
    const fresh = createMemoryStore();
    const reader = createRemoteStore({ local: fresh, remote: createReapiClient({ endpoint: cluster.endpoint }), trust: { keys: [], trustServer: false } });
    try {
      const [got] = await fetchDebianPackages(fresh, [pin], { sources: { mirrors: [reader.location] } });
      assert.is(got!.digest, put.digest);
      assert.is(got!.cached, false);
      const absent = Buffer.from(`absent ${randomUUID()}`);
      const err = await rejectsWithCode<Error>(() => fetchDebianPackages(createMemoryStore(), [{ ...pin, integrity: sri(absent), size: absent.length }], { sources: { mirrors: [reader.location] } }), 'KILN_IMAGE_APT');
      assert.match(err.message, `remote cache ${cluster.endpoint}: not there`);
    } finally {
      reader.close();
    }
  } finally {
    writer.close();
  }
});

shared.run();
attacks.run();
sources.run();

export type { Digest };
