import { createServer, type Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import * as tar from 'tar-stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { build, type BuildEvent } from '../../src/builder/index.js';
import { createStore } from '../../src/store/index.js';
import { sha256Digest } from '../../src/util/digest.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { buildV7Tar } from '../helpers/archives.js';
import { packTar } from '../helpers/busybox.js';
import { sri, writeRecipe } from '../helpers/recipes.js';

const docker = new Docker();

async function freshBuild(dir: string, recipe: string, extra: { noCache?: boolean; storeRoot?: string } = {}) {
  const events: BuildEvent[] = [];
  const store = await createStore({ root: extra.storeRoot ?? join(dir, 'store') });
  const summary = await build({ recipe, out: join(dir, 'out'), store, noCache: extra.noCache, reporter: (e) => events.push(e) });
  return { summary, events, store };
}

/** Container-create events the engine saw between two instants, for steps kiln labelled. */
async function containersCreated(since: number, until: number, steps: string[]): Promise<number> {
  const stream = (await docker.getEvents({
    since: Math.floor(since / 1000),
    until: Math.ceil(until / 1000) + 1,
    filters: { type: ['container'], event: ['create'], label: ['kiln.step'] },
  })) as unknown as Readable;
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  // `since` has one-second granularity: filter on the events' own nanosecond times.
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { timeNano: number; Actor?: { Attributes?: Record<string, string> } })
    .filter((e) => steps.includes(e.Actor?.Attributes?.['kiln.step'] ?? ''))
    .filter((e) => e.timeNano >= since * 1e6 && e.timeNano <= until * 1e6).length;
}

async function tarMembers(data: Buffer): Promise<Array<{ name: string; mtime: number; uid: number; gid: number; mode: number; uname?: string }>> {
  const extract = tar.extract();
  const members: Array<{ name: string; mtime: number; uid: number; gid: number; mode: number; uname?: string }> = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      members.push({ name: h.name, mtime: Math.floor(h.mtime!.getTime() / 1000), uid: h.uid!, gid: h.gid!, mode: h.mode!, uname: h.uname });
      stream.on('end', next);
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([data]).pipe(createGunzip()).pipe(extract as unknown as NodeJS.WritableStream);
  await done;
  return members;
}

const steps = suite('build: steps in real containers');

steps('normalizes a pre-POSIX v7 tar in a step\'s output, as unpack and kiln diff read it', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    // No ustar magic, mtimes after SOURCE_DATE_EPOCH: what automake's `make dist` writes.
    const v7 = buildV7Tar({ 'hello-2.10/README': 'Hello, world!\n' }, { mtime: 1_800_000_000 });
    await writeFile(join(dir, 'hello.tar'), v7);
    const recipe = await writeRecipe(dir, `
inputs:
  dist: { path: hello.tar, integrity: "${sri(v7)}" }
steps:
  release: { image: base, inputs: [dist], run: "cp /kiln/inputs/dist $KILN_OUT/hello-2.10.tar" }
artifacts: [{ from: release, path: hello-2.10.tar }]
`);
    const { summary } = await freshBuild(dir, recipe);
    const out = await readFile(join(dir, 'out', 'hello-2.10.tar'));
    assert.is.not(sha256Digest(out), sha256Digest(v7), 'the archive was rewritten');
    assert.is(`sha256:${summary.artifacts[0]!.digests.sha256}`, sha256Digest(out));
    assert.is(out.toString('latin1', 257, 262), 'ustar', 'canonical form: a ustar header');
    const extract = tar.extract();
    Readable.from([out]).pipe(extract);
    const members: Array<[string, number, string]> = [];
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      members.push([entry.header.name, entry.header.mtime!.getTime() / 1000, Buffer.concat(chunks).toString()]);
    }
    assert.equal(members, [
      ['hello-2.10/', 1_700_000_000, ''],
      ['hello-2.10/README', 1_700_000_000, 'Hello, world!\n'],
    ]);
  } finally {
    await cleanup();
  }
});

steps('builds a chain of steps, exports artifacts and build.json, normalizes the output archive', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const recipe = await writeRecipe(dir, `
steps:
  make:
    image: base
    run: |
      mkdir -p $KILN_OUT/pkg/bin
      echo "hello $SOURCE_DATE_EPOCH $TZ $LANG $(id -u) $(hostname) $(pwd)" > $KILN_OUT/pkg/greeting
      printf '#!/bin/sh\\necho hi\\n' > $KILN_OUT/pkg/bin/hi && chmod 0700 $KILN_OUT/pkg/bin/hi
  package:
    image: base
    needs: [make]
    run: |
      cd /kiln/steps/make
      touch -d @1800000000 pkg/greeting 2>/dev/null || true
      tar -cf - pkg | gzip -9 > $KILN_OUT/pkg.tar.gz
artifacts:
  - { from: package, path: "*.tar.gz" }
  - { from: make, path: pkg/greeting }
`);
    const { summary, events } = await freshBuild(dir, recipe);
    assert.equal(Object.keys(summary.steps), ['make', 'package']);
    assert.ok(events.some((e) => e.type === 'step-start' && e.step === 'package'));
    const greeting = await readFile(join(dir, 'out', 'pkg/greeting'), 'utf8');
    assert.is(greeting, 'hello 1700000000 UTC C 1000 kiln /kiln/work\n');
    const names = summary.artifacts.map((a) => a.name);
    assert.equal(names, ['pkg.tar.gz', 'pkg/greeting']);
    const archive = await readFile(join(dir, 'out', 'pkg.tar.gz'));
    assert.is(`sha256:${summary.artifacts[0]!.digests.sha256}`, sha256Digest(archive));
    assert.is(archive[4] | archive[5] | archive[6] | archive[7], 0, 'gzip mtime is zero');
    const members = await tarMembers(archive);
    assert.equal(members.map((m) => m.name), [...members.map((m) => m.name)].sort(), 'members sorted');
    for (const m of members) {
      assert.ok(m.mtime <= 1700000000, `${m.name} mtime clamped`);
      assert.is(m.uid, 0);
      assert.is(m.gid, 0);
      assert.ok([0o644, 0o755].includes(m.mode & 0o7777), `${m.name} mode ${m.mode.toString(8)}`);
    }
    assert.ok(members.some((m) => m.name.endsWith('bin/hi') && (m.mode & 0o7777) === 0o755));
    const written = JSON.parse(await readFile(join(dir, 'out', 'build.json'), 'utf8'));
    assert.equal(written, JSON.parse(JSON.stringify(summary)));
    assert.match(summary.steps.make!.actionKey, /^sha256:[0-9a-f]{64}$/);
  } finally {
    await cleanup();
  }
});

steps('a second build of an unchanged recipe starts no container; --no-cache starts them again', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const recipe = await writeRecipe(dir, `
steps:
  cache-probe-one: { image: base, run: "echo 1 > $KILN_OUT/one" }
  cache-probe-two: { image: base, needs: [cache-probe-one], run: "cat /kiln/steps/cache-probe-one/one > $KILN_OUT/two" }
artifacts: [{ from: cache-probe-two, path: two }]
`);
    const probeSteps = ['cache-probe-one', 'cache-probe-two'];
    const first = await freshBuild(dir, recipe);
    assert.ok(Object.values(first.summary.steps).every((s) => !s.cached));
    const t0 = Date.now();
    const second = await freshBuild(dir, recipe);
    const t1 = Date.now();
    assert.ok(Object.values(second.summary.steps).every((s) => s.cached), 'all cached');
    assert.is(second.summary.engine, null, 'no engine was contacted');
    assert.is(await containersCreated(t0, t1, probeSteps), 0, 'the engine created no container');
    assert.equal(second.summary.artifacts, first.summary.artifacts);
    const t2 = Date.now();
    const third = await freshBuild(dir, recipe, { noCache: true });
    assert.ok(Object.values(third.summary.steps).every((s) => !s.cached));
    assert.is(await containersCreated(t2, Date.now(), probeSteps), 2);
    assert.equal(third.summary.artifacts, first.summary.artifacts);
  } finally {
    await cleanup();
  }
});

steps('a changed script invalidates that step and the steps after it, not the ones before', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const body = (word: string) => `
steps:
  a: { image: base, run: "echo a > $KILN_OUT/a" }
  b: { image: base, needs: [a], run: "echo ${word} > $KILN_OUT/b" }
  c: { image: base, needs: [b], run: "cat /kiln/steps/b/b > $KILN_OUT/c" }
artifacts: [{ from: c, path: c }]
`;
    const recipe = await writeRecipe(dir, body('one'));
    await freshBuild(dir, recipe);
    await writeRecipe(dir, body('two'));
    const { summary } = await freshBuild(dir, recipe);
    assert.is(summary.steps.a!.cached, true);
    assert.is(summary.steps.b!.cached, false);
    assert.is(summary.steps.c!.cached, false);
    assert.is(await readFile(join(dir, 'out', 'c'), 'utf8'), 'two\n');
  } finally {
    await cleanup();
  }
});

steps('a step output symlink to /etc/passwd is stored as a link, not the file', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const recipe = await writeRecipe(dir, `
steps:
  s:
    image: base
    run: |
      ln -s /etc/passwd $KILN_OUT/pw
      ln -s ../../../../etc/shadow $KILN_OUT/up
      echo data > $KILN_OUT/file
artifacts: [{ from: s, path: file }]
`);
    const { summary, store } = await freshBuild(dir, recipe);
    const tree = await store.readTree(summary.steps.s!.outputTree);
    assert.equal(tree.entries.find((e) => e.path === 'pw'), { path: 'pw', type: 'symlink', target: '/etc/passwd' });
    assert.equal(tree.entries.find((e) => e.path === 'up'), { path: 'up', type: 'symlink', target: '../../../../etc/shadow' });
    const passwd = await readFile('/etc/passwd');
    assert.not.ok(await store.has(sha256Digest(passwd)), 'the host file never entered the store');
  } finally {
    await cleanup();
  }
});

steps('inputs are read-only inside the step', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeFile(join(dir, 'data.txt'), 'input\n');
    const recipe = await writeRecipe(dir, `
inputs:
  data: { path: data.txt, integrity: "${sri('input\n')}" }
steps:
  s:
    image: base
    inputs: [data]
    run: |
      cat /kiln/inputs/data > $KILN_OUT/copy
      if echo x >> /kiln/inputs/data 2>/dev/null; then echo WROTE > $KILN_OUT/breach; fi
      if chmod 666 /kiln/inputs/data 2>/dev/null; then echo CHMOD > $KILN_OUT/breach2; fi
      if rm -f /kiln/inputs/data 2>/dev/null && [ ! -e /kiln/inputs/data ]; then echo RM > $KILN_OUT/breach3; fi
artifacts: [{ from: s, path: "*" }]
`);
    const { summary } = await freshBuild(dir, recipe);
    assert.equal(summary.artifacts.map((a) => a.name), ['copy']);
    assert.is(await readFile(join(dir, 'out', 'copy'), 'utf8'), 'input\n');
  } finally {
    await cleanup();
  }
});

steps('independent steps run in parallel up to --jobs, and one at a time with --jobs 1', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const recipe = await writeRecipe(dir, `
steps:
  left: { image: base, run: "sleep 1; echo l > $KILN_OUT/l" }
  right: { image: base, run: "sleep 1; echo r > $KILN_OUT/r" }
  join: { image: base, needs: [left, right], run: "cat /kiln/steps/left/l /kiln/steps/right/r > $KILN_OUT/lr" }
artifacts: [{ from: join, path: lr }]
`);
    const overlapping = async (jobs: number): Promise<boolean> => {
      const events: BuildEvent[] = [];
      const store = await createStore({ root: join(dir, `store-${jobs}`) });
      await build({ recipe, out: join(dir, 'out'), store, jobs, reporter: (e) => events.push(e) });
      const order = events.filter((e) => e.type === 'step-start' || e.type === 'step-done').map((e) => `${e.type}:${(e as { step: string }).step}`);
      assert.is(order[order.length - 1], 'step-done:join');
      // with overlap, both side steps start before either is done
      return order.indexOf('step-start:left') < order.indexOf('step-done:right') && order.indexOf('step-start:right') < order.indexOf('step-done:left');
    };
    assert.ok(await overlapping(2), 'ran together with --jobs 2');
    assert.not.ok(await overlapping(1), 'ran one at a time with --jobs 1');
    assert.is(await readFile(join(dir, 'out', 'lr'), 'utf8'), 'l\nr\n');
  } finally {
    await cleanup();
  }
});

const net = suite('build: no network in a step');
let server: Server;
let port = 0;
let requests = 0;
net.before(async () => {
  server = createServer((_req, res) => { requests++; res.end('reachable\n'); });
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  port = (server.address() as { port: number }).port;
});
net.after(async () => { await new Promise((r) => server.close(r)); });

/** 127.0.0.1, every IPv4 address of the host, and the engine's bridge gateway (Node lists no interface without carrier). */
const hostAddresses = async (): Promise<string[]> => {
  const all = Object.values(networkInterfaces()).flat().filter((i) => i && i.family === 'IPv4').map((i) => i!.address);
  const bridge = (await docker.getNetwork('bridge').inspect()) as { IPAM?: { Config?: Array<{ Gateway?: string }> } };
  const gateways = (bridge.IPAM?.Config ?? []).map((c) => c.Gateway).filter((g): g is string => Boolean(g));
  return [...new Set(['127.0.0.1', ...all, ...gateways])];
};

net('a step that downloads something fails, and the build says it tried the network', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const target = (await hostAddresses()).find((a) => a !== '127.0.0.1') ?? '127.0.0.1';
    const recipe = await writeRecipe(dir, `
steps:
  fetcher: { image: base, run: "timeout 5 wget -O $KILN_OUT/page http://${target}:${port}/" }
artifacts: [{ from: fetcher, path: page }]
`);
    const err = await rejectsWithCode<{ step: string; hint?: string; exitCode: number }>(() => freshBuild(dir, recipe), 'KILN_BUILD_STEP_FAILED');
    assert.is(err.step, 'fetcher');
    assert.is(err.exitCode, 1);
    assert.match(err.hint ?? '', /network/);
    assert.is(requests, 0, 'the host server saw no request');
  } finally {
    await cleanup();
  }
});

net('TCP to every host address and to 127.0.0.1, and DNS, all fail from inside a step', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const targets = await hostAddresses();
    const script = targets.map((a) => `if timeout 3 wget -q -O /dev/null http://${a}:${port}/; then echo "open ${a}"; else echo "closed ${a}"; fi >> $KILN_OUT/probes`).join('\n      ');
    const recipe = await writeRecipe(dir, `
steps:
  probe:
    image: base
    run: |
      ${script}
      if nslookup example.org >/dev/null 2>&1; then echo "open dns" >> $KILN_OUT/probes; else echo "closed dns" >> $KILN_OUT/probes; fi
      ls /sys/class/net > $KILN_OUT/interfaces
artifacts: [{ from: probe, path: "*" }]
`);
    await freshBuild(dir, recipe);
    const probes = (await readFile(join(dir, 'out', 'probes'), 'utf8')).trim().split('\n');
    assert.is(probes.length, targets.length + 1);
    for (const p of probes) assert.match(p, /^closed /, p);
    assert.is((await readFile(join(dir, 'out', 'interfaces'), 'utf8')).trim(), 'lo');
    assert.is(requests, 0);
  } finally {
    await cleanup();
  }
});

const inputs = suite('build: inputs are checked before any step runs');

inputs('an input whose bytes do not match its integrity is rejected; no step runs; the store holds nothing of it', async () => {
  const { dir, cleanup } = await makeTempDir();
  const body = 'tampered bytes\n';
  const srv = createServer((_q, r) => r.end(body));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const p = (srv.address() as { port: number }).port;
    const recipe = await writeRecipe(dir, `
inputs:
  src: { url: "http://127.0.0.1:${p}/src.txt", integrity: "${sri('the real bytes\n')}" }
steps:
  s: { image: base, inputs: [src], run: "cp /kiln/inputs/src $KILN_OUT/x" }
artifacts: [{ from: s, path: x }]
`);
    const events: BuildEvent[] = [];
    const store = await createStore({ root: join(dir, 'store') });
    const err = await rejectsWithCode<{ exitCode: number }>(
      () => build({ recipe, out: join(dir, 'out'), store, reporter: (e) => events.push(e) }),
      'KILN_FETCH_INTEGRITY',
    );
    assert.is(err.exitCode, 2);
    assert.not.ok(events.some((e) => e.type === 'step-start'), 'no step started');
    assert.not.ok(await store.has(sha256Digest(body)), 'no object for the tampered bytes');
    const tmp = await readdir(join(dir, 'store', 'v1', 'tmp')).catch(() => []);
    assert.equal(tmp, [], 'no temp file left');
  } finally {
    srv.close();
    await cleanup();
  }
});

inputs('a hostile archive input is refused, naming the entry, before any step runs', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const chunks: Buffer[] = [];
    for await (const c of packTar([
      { name: 'ok.txt', type: 'file', content: 'fine\n' },
      { name: '../../escape.txt', type: 'file', content: 'pwned\n' },
    ])) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    await writeFile(join(dir, 'evil.tar'), bytes);
    const recipe = await writeRecipe(dir, `
inputs:
  evil: { path: evil.tar, integrity: "${sri(bytes)}", unpack: true }
steps:
  s: { image: base, inputs: [evil], run: "ls -R /kiln/inputs > $KILN_OUT/x" }
artifacts: [{ from: s, path: x }]
`);
    const events: BuildEvent[] = [];
    const store = await createStore({ root: join(dir, 'store') });
    const err = await rejectsWithCode<Error & { cause?: { code?: string; message: string } }>(
      () => build({ recipe, out: join(dir, 'out'), store, reporter: (e) => events.push(e) }),
      'KILN_FETCH_ARCHIVE',
    );
    assert.is(err.cause?.code, 'KILN_ARCHIVE_UNSAFE_ENTRY');
    assert.match(`${err.message} ${err.cause?.message}`, /escape\.txt/);
    assert.not.ok(events.some((e) => e.type === 'step-start'));
    assert.not.ok(await readFile(join(dir, '..', 'escape.txt')).catch(() => undefined));
  } finally {
    await cleanup();
  }
});

steps.run();
net.run();
inputs.run();
