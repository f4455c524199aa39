import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { build, type BuildEvent } from '../../src/builder/index.js';
import { diffPaths } from '../../src/diff/index.js';
import { lockRecipe } from '../../src/lock/index.js';
import { createStore } from '../../src/store/index.js';
import { makeTempDir, repoRoot } from '../helpers/index.js';

// recipes/hello, built for real: Debian's hello source package, the toolchain image assembled
// from ~190 pinned .debs, dpkg-buildpackage and ./configure && make, in two fresh stores with no
// action cache. About 3 minutes a build on a 2-core machine (most of it fetching and assembling
// the toolchain image); needs apt's deb-src sources (scripts/setup-host.sh adds them) only for
// the fetch of the source package.
//
// The committed kiln.lock is an example: Debian drops superseded versions from its suites, so a
// lock made last week may name .debs the archive no longer serves. This test locks a copy of the
// recipe against today's archive (what `kiln lock` would write now) and checks that the build is
// reproducible from that lock; durability of old pins is tested against a local archive in
// test/fetch and test/lock, never against the live archive's history.
const RECIPE_SOURCE = join(repoRoot(), 'recipes', 'hello');
const DEB = 'hello_2.10-3_amd64.deb';
const TARBALL = 'hello-2.10-amd64.tar.gz';

const twice = suite('recipes/hello');

twice('builds twice into two fresh stores with no cache: the .deb and the tarball are identical byte for byte, and the built hello greets', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const RECIPE = join(dir, 'recipe');
    await mkdir(RECIPE);
    await copyFile(join(RECIPE_SOURCE, 'kiln.yaml'), join(RECIPE, 'kiln.yaml'));
    const locked = await lockRecipe(RECIPE, { store: await createStore({ root: join(dir, 'store-lock') }) });
    assert.ok(locked.lock.debian?.toolchain && locked.lock.debian.toolchain.length > 100, 'the toolchain closure was resolved');
    const run = async (name: string) => {
      const events: BuildEvent[] = [];
      const store = await createStore({ root: join(dir, `store-${name}`) });
      const out = join(dir, `out-${name}`);
      const summary = await build({ recipe: RECIPE, out, store, locked: true, noCache: true, attest: false, reporter: (e) => events.push(e) });
      return { summary, events, out };
    };
    const a = await run('a');
    const b = await run('b');
    for (const r of [a, b]) {
      assert.not.ok(r.events.some((e) => e.type === 'step-cached'), 'no step came from a cache');
      assert.ok(r.events.some((e) => e.type === 'step-done' && e.step === 'image:toolchain'), 'the toolchain image was assembled');
      assert.is(r.summary.images.toolchain!.kind, 'debian');
    }
    assert.is(b.summary.images.toolchain!.tree, a.summary.images.toolchain!.tree, 'the toolchain image is the same tree');
    const sha = (s: typeof a.summary, name: string) => s.artifacts.find((x) => x.name === name)?.digests.sha256;
    for (const file of [DEB, TARBALL]) {
      assert.ok(sha(a.summary, file), `${file} is an artifact`);
      assert.is(sha(b.summary, file), sha(a.summary, file), `${file} has the same sha256`);
      const report = await diffPaths(join(a.out, file), join(b.out, file));
      assert.ok(report.identical, `${file}: ${report.differences.length} differences`);
      assert.equal(await readFile(join(a.out, file)), await readFile(join(b.out, file)));
    }
    // The smoke step unpacked the built .deb with dpkg-deb and ran its /usr/bin/hello.
    assert.is(await readFile(join(a.out, 'greeting.txt'), 'utf8'), 'Hello, world!\n');
    assert.is(await readFile(join(b.out, 'greeting.txt'), 'utf8'), 'Hello, world!\n');
  } finally {
    await cleanup();
  }
});

twice.run();
