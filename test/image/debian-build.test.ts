import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { build, type BuildEvent } from '../../src/builder/index.js';
import { debianStage1 } from '../../src/image/index.js';
import { lockRecipe } from '../../src/lock/index.js';
import { createDockerEngine } from '../../src/sandbox/docker.js';
import { loadSandboxProfile } from '../../src/sandbox/profile.js';
import type { Engine } from '../../src/sandbox/types.js';
import { createStore } from '../../src/store/index.js';
import { vendorRecipe } from '../../src/vendor/index.js';
import { deadUrl, writeAptConfig } from '../helpers/apt-repo.js';
import { makeTempDir } from '../helpers/index.js';

// Real apt (the host's sources) for the lock and the first build, a real engine; the second
// build assembles the same image from a `kiln vendor` folder with apt unreachable. The closure of `hello` plus the required set
// is about 90 packages, 32 MB of .debs and a 150 MB root filesystem on bookworm.
const RECIPE = `kiln: 1
name: greet
sourceDateEpoch: 1700000000
images:
  toolchain:
    debian:
      packages: [hello]
steps:
  greet:
    image: toolchain
    run: hello > $KILN_OUT/greeting.txt
artifacts:
  - from: greet
    path: greeting.txt
`;

const docker = new Docker();

interface Seen {
  networkMode?: string;
  capAdd?: string[] | null;
  capDrop?: string[] | null;
  user?: string;
  exception?: string;
  networkDisabled?: boolean;
}

/** The Docker engine, watching the containers of exception runs as the engine itself reports them. */
function watchingEngine(inner: Engine, seen: Seen[]): Engine {
  return {
    ...inner,
    run: async (action, io) => {
      if (action.privilege === undefined) return inner.run(action, io);
      let stop = false;
      const watch = (async () => {
        while (!stop) {
          const list = await docker.listContainers({ all: true, filters: { label: [`kiln.step=${action.label}`] } });
          if (list[0]) {
            const info = await docker.getContainer(list[0].Id).inspect().catch(() => undefined);
            if (info) {
              seen.push({
                networkMode: info.HostConfig.NetworkMode,
                capAdd: info.HostConfig.CapAdd as string[] | null,
                capDrop: info.HostConfig.CapDrop as string[] | null,
                user: info.Config.User,
                exception: info.Config.Labels['kiln.exception'],
                networkDisabled: (info.Config as { NetworkDisabled?: boolean }).NetworkDisabled,
              });
              return;
            }
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      try {
        return await inner.run(action, io);
      } finally {
        stop = true;
        await watch;
      }
    },
  };
}

const assembly = suite('debian image build');

assembly('the same lock gives the same image digest in two fresh stores, with no network and only the owner capabilities (CHOWN, DAC_OVERRIDE, FOWNER); hello greets; the second build is cached', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const recipe = join(dir, 'kiln.yaml');
    await writeFile(recipe, RECIPE);
    const locked = await lockRecipe(recipe, { store: await createStore({ root: join(dir, 'store-lock') }) });
    const pins = locked.lock.debian!.toolchain!;
    assert.ok(pins.some((p) => p.package === 'hello' && !p.required));
    assert.ok(pins.some((p) => p.package === 'dpkg' && p.required));

    const profile = await loadSandboxProfile();
    const seen: Seen[] = [];
    const engine = watchingEngine(createDockerEngine({ profile: profile.profile }), seen);
    const run = async (name: string, attest = false, sources?: { mirrors: string[] }) => {
      const events: BuildEvent[] = [];
      const store = await createStore({ root: join(dir, name) });
      const summary = await build({ recipe, out: join(dir, `out-${name}`), store, engine, profile, locked: true, ...(sources && { sources }), ...(!attest && { attest: false as const }), reporter: (e) => events.push(e) });
      return { summary, events };
    };
    const a = await run('store-a', true);
    // The second build is a rebuilder's a year later: apt unreachable (its only source a dead
    // port on 127.0.0.1), the packages from a `kiln vendor` folder kept beside the release.
    const vendor = join(dir, 'vendor');
    await vendorRecipe({ recipe, out: vendor, store: await createStore({ root: join(dir, 'store-a') }) });
    const deadApt = await writeAptConfig(join(dir, 'dead-apt'), `deb [trusted=yes] ${await deadUrl()}debian bookworm main\n`);
    const savedApt = process.env.APT_CONFIG;
    process.env.APT_CONFIG = deadApt.APT_CONFIG;
    let b: Awaited<ReturnType<typeof run>>;
    try {
      b = await run('store-b', false, { mirrors: [vendor] });
    } finally {
      if (savedApt === undefined) delete process.env.APT_CONFIG;
      else process.env.APT_CONFIG = savedApt;
    }
    assert.ok(b.events.some((e) => e.type === 'step-done' && e.step === 'image:toolchain'), 'assembled from the vendored packages');
    const treeA = a.summary.images.toolchain!.tree;
    assert.ok(treeA);
    assert.is(b.summary.images.toolchain!.tree, treeA);
    assert.is(a.summary.images.toolchain!.kind, 'debian');
    assert.ok(a.events.some((e) => e.type === 'step-done' && e.step === 'image:toolchain'));
    assert.ok(b.events.some((e) => e.type === 'step-done' && e.step === 'image:toolchain'));
    assert.is((await readFile(join(dir, 'out-store-a', 'greeting.txt'), 'utf8')).trim(), 'Hello, world!');

    // Provenance and SBOM name every package of the image by purl.
    const outA = await readdir(join(dir, 'out-store-a'));
    const sbom = await readFile(join(dir, 'out-store-a', outA.find((f) => f.endsWith('.cdx.json'))!), 'utf8');
    assert.ok(sbom.includes('pkg:deb/debian/hello@2.10-3?arch=amd64') || sbom.includes('pkg:deb/debian/hello@'));
    const statement = await readFile(join(dir, 'out-store-a', outA.find((f) => f.endsWith('.statement.json') || f.endsWith('.intoto.jsonl'))!), 'utf8');
    assert.ok(statement.includes('deb:toolchain/hello') || Buffer.from(statement.match(/"payload":"([^"]+)"/)?.[1] ?? '', 'base64').toString().includes('deb:toolchain/hello'));

    assert.is(seen.length, 2, 'both assembly containers were inspected');
    for (const s of seen) {
      assert.is(s.networkMode, 'none');
      assert.equal(s.capAdd, ['CHOWN', 'DAC_OVERRIDE', 'FOWNER']);
      assert.equal(s.capDrop, ['ALL']);
      assert.is(s.user, '0:0');
      assert.is(s.exception, 'debian-assembly');
    }

    // Stage 1 is found by the pins: nothing is fetched again. The base holds the required set
    // and what it depends on, not hello; the package folder holds every .deb and the lists.
    const storeA = await createStore({ root: join(dir, 'store-a') });
    const spec = { name: 'toolchain', kind: 'debian' as const, packages: ['hello'], arch: 'amd64', pins, shell: ['/bin/sh', '-e', '-c'], where: { file: recipe } };
    const stage1 = await debianStage1(storeA, spec, { onFetch: () => assert.unreachable('stage 1 is known by its pins') });
    const base = new Set((await storeA.readTree(stage1.base)).entries.map((e) => e.path));
    assert.ok(base.has('usr/bin/dpkg') && base.has('usr/lib/x86_64-linux-gnu/libc.so.6') && base.has('var/lib/dpkg/status'));
    assert.not.ok(base.has('usr/bin/hello'), 'hello is for dpkg to unpack');
    const packages = new Set((await storeA.readTree(stage1.packages)).entries.map((e) => e.path));
    assert.equal([...packages].filter((name) => !name.endsWith('.deb')).sort(), ['required', 'rest']);
    for (const name of ['hello.deb', 'dpkg.deb']) assert.ok(packages.has(name), name);

    const again = await run('store-a');
    assert.is(again.summary.images.toolchain!.tree, treeA);
    assert.ok(again.events.some((e) => e.type === 'step-cached' && e.step === 'image:toolchain') || !again.events.some((e) => e.type === 'step-start'));
    assert.not.ok(again.events.some((e) => e.type === 'step-start'), 'nothing ran the second time');
  } finally {
    await cleanup();
  }
});

assembly.run();
