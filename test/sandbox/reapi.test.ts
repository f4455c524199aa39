// The reapi engine against the real Buildbarn cluster (scripts/buildbarn.sh; started here when
// .ci/run has not started it), side by side with the local Docker engine: the same recipe gives
// the same bytes, the provenance names where every step ran, a step has no network on either,
// and `kiln rebuild` runs on the farm with the VSA saying so.
import { networkInterfaces } from 'node:os';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodePayload, envelopeFromJSON, provenanceFromStatement, statementFromPayload } from '../../src/attest/index.js';
import { build, BuildError, type BuildSummary } from '../../src/builder/index.js';
import { createReapiClient } from '../../src/reapi/index.js';
import { createStore } from '../../src/store/index.js';
import { writeRecipe } from '../helpers/recipes.js';
import { makeTempDir, rejectsWithCode, repoRoot, runKiln } from '../helpers/index.js';
import { ensureCluster } from '../reapi/cluster.js';
import { startHostServer } from '../helpers/host-server.js';

const cluster = ensureCluster();
const root = repoRoot();
const HELLO = join(root, 'examples', 'hello');
const KEY = join(root, 'examples', 'keys', 'example.key');
const PUB = join(root, 'examples', 'keys', 'example.pub');
/** The test cluster's workers, as their ExecutedActionMetadata.worker (scripts/buildbarn/worker.jsonnet). */
const WORKERS = ['{"cluster":"kiln-test","worker":"1"}', '{"cluster":"kiln-test","worker":"2"}'];
const farm = { kind: 'reapi', remote: { executor: cluster.endpoint } };
/** The CLI's view of the farm; the environment's settings left out so the flags decide. */
const farmFlags = ['--engine', 'reapi', '--remote-executor', cluster.endpoint];
const cleanEnv = { KILN_ENGINE: '', KILN_REMOTE_EXECUTOR: '' };

/** The signed provenance's statement (first line of `<name>.intoto.jsonl`). */
async function provenanceOf(file: string) {
  const first = (await readFile(file, 'utf8')).split('\n')[0]!;
  return statementFromPayload(decodePayload(envelopeFromJSON(first)));
}

const hello = suite('examples/hello on the farm and on Docker');

hello('kiln build --engine reapi gives the same artifact bytes and step trees as the Docker engine; the provenance names the worker, the Action and the timings of every step', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const docker = await build({ recipe: HELLO, out: join(dir, 'out-docker'), store: await createStore({ root: join(dir, 'store-docker') }), noCache: true, attest: false });
    const ran = await runKiln(['build', HELLO, ...farmFlags, '--no-cache', '--sign-key', KEY, '--out', join(dir, 'out-farm'), '--json'], { ...cleanEnv, KILN_STORE: join(dir, 'store-farm') });
    assert.is(ran.code, 0, ran.stderr);
    const remote = JSON.parse(ran.stdout) as BuildSummary;

    assert.is(docker.engine?.split(' ')[0], 'docker');
    assert.match(remote.engine ?? '', `reapi ${cluster.endpoint}`);
    assert.ok(docker.artifacts.length > 0);
    assert.equal(remote.artifacts.map((a) => [a.name, a.digests]), docker.artifacts.map((a) => [a.name, a.digests]));
    for (const a of docker.artifacts) {
      assert.equal(await readFile(join(dir, 'out-farm', a.name)), await readFile(join(dir, 'out-docker', a.name)), a.name);
    }
    for (const [name, step] of Object.entries(docker.steps)) {
      assert.is(remote.steps[name]!.outputTree, step.outputTree, `step ${name}: the same output tree`);
      assert.is(remote.steps[name]!.actionKey, step.actionKey, `step ${name}: the same action key on either engine`);
      assert.is(remote.steps[name]!.cached, false);
    }

    const statement = await provenanceOf(join(dir, 'out-farm', 'hello.intoto.jsonl'));
    const provenance = provenanceFromStatement(statement);
    assert.equal(provenance.steps.map((s) => s.name).sort(), Object.keys(docker.steps).sort());
    const client = createReapiClient({ endpoint: cluster.endpoint });
    try {
      for (const step of provenance.steps) {
        const executor = step.executor as Record<string, any> | undefined;
        assert.ok(executor, `step ${step.name} has an executor record`);
        assert.is(executor.engine, 'reapi');
        assert.is(executor.endpoint, cluster.endpoint);
        assert.is(executor.instance, '');
        assert.ok(WORKERS.includes(executor.worker), `step ${step.name} ran on ${executor.worker}`);
        for (const t of ['queuedMs', 'inputFetchMs', 'executionMs', 'outputUploadMs']) assert.type(executor.timings?.[t], 'number', `${step.name}: ${t}`);
        assert.ok(executor.timings.executionMs > 0, `${step.name}: the farm timed the execution`);
        // Anyone can look the Action up in the farm by the digest the provenance names.
        const m = /^([0-9a-f]{64})\/(\d+)$/.exec(executor.actionDigest);
        assert.ok(m, `step ${step.name}: actionDigest ${executor.actionDigest}`);
        const action = await client.readBlob({ hash: m[1]!, sizeBytes: Number(m[2]) });
        assert.is(action.length, Number(m[2]));
        // No credential or header ever lands in the record.
        assert.not.match(JSON.stringify(executor), /authorization|bearer|header/i);
      }
    } finally {
      client.close();
    }
  } finally {
    await cleanup();
  }
});

hello('kiln rebuild --engine reapi runs every step on the farm, PASSES, and the VSA says where it ran', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const original = await build({ recipe: HELLO, out: join(dir, 'original'), store: await createStore({ root: join(dir, 'store-original') }), attest: { signKey: KEY } });
    const out = join(dir, 'rebuilt');
    const ran = await runKiln(
      ['rebuild', join(dir, 'original', 'hello.intoto.jsonl'), '--key', PUB, '--input', `src=${join(HELLO, 'src')}`, '--sign-key', KEY, ...farmFlags, '--out', out, '--json'],
      { ...cleanEnv, KILN_STORE: join(dir, 'store-rebuild') },
    );
    assert.is(ran.code, 0, ran.stderr);
    const vsa = statementFromPayload(decodePayload(envelopeFromJSON((await readFile(join(out, 'hello.vsa.intoto.jsonl'), 'utf8')).trim()))) as any;
    assert.is(vsa.predicate.verificationResult, 'PASSED');
    assert.match(vsa.predicate.verifier.version.engine, `reapi ${cluster.endpoint}`);
    assert.equal(vsa.subject[0].digest, original.artifacts[0]!.digests);
    // The rebuild's own provenance names the farm's worker for every step: none came from a cache.
    const rebuilt = provenanceFromStatement(await provenanceOf(join(out, 'hello.intoto.jsonl')));
    for (const step of rebuilt.steps) {
      assert.is(step.cached, false);
      assert.ok(WORKERS.includes((step.executor as any)?.worker), `step ${step.name}`);
    }
  } finally {
    await cleanup();
  }
});

const network = suite('a network probe step');

/** A recipe whose one step succeeds only if it reaches `port` on one of `hosts`. */
async function probeRecipe(dir: string, hosts: string[], port: number): Promise<string> {
  const lines = [
    'reached=0',
    // wget -T segfaults in Debian's static busybox 1.35; `timeout` bounds it instead.
    ...hosts.map((h) => `if timeout 5 wget -q -O /dev/null http://${h}:${port}/; then echo "reached ${h}"; reached=1; else echo "no ${h}"; fi`),
    '[ "$reached" = 1 ]',
  ];
  const body = ['steps:', '  probe:', '    image: base', '    run: |', ...lines.map((l) => `      ${l}`), 'artifacts:', '  - { from: probe, path: "*" }'];
  return writeRecipe(dir, body.join('\n') + '\n');
}

network('fails on the farm as on Docker: no address of the host is reachable, and the server sees no request', async () => {
  const server = await startHostServer();
  const { port } = server;
  const { dir, cleanup } = await makeTempDir();
  try {
    const hosts = new Set(['127.0.0.1']);
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4') hosts.add(a.address);
    const recipe = await probeRecipe(dir, [...hosts], port);
    // Control: the probe's own command reaches the server from here.
    const control = await fetch(`http://127.0.0.1:${port}/`);
    assert.is(await control.text(), 'ok');
    server.reset();
    const logs: Record<string, string> = {};
    for (const [name, engineChoice] of [['docker', { kind: 'docker' }], ['farm', farm]] as const) {
      const store = await createStore({ root: join(dir, `store-${name}`) });
      const err = await rejectsWithCode<BuildError>(
        () => build({ recipe, out: join(dir, `out-${name}`), store, noCache: true, attest: false, engineChoice }),
        'KILN_BUILD_STEP_FAILED',
      );
      assert.instance(err, BuildError);
      logs[name] = (err.logTail ?? []).join('\n');
    }
    assert.is(server.requests(), 0, 'no step reached the server');
    for (const h of hosts) {
      assert.match(logs.docker!, `no ${h}`);
      assert.match(logs.farm!, `no ${h}`);
    }
  } finally {
    await server.close();
    await cleanup();
  }
});

hello.run();
network.run();
