import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCheck, diffCheck } from '../../src/check/index.js';
import { lockRecipe } from '../../src/lock/index.js';
import { createStore } from '../../src/store/index.js';
import { makeTempDir, repoRoot } from '../helpers/index.js';

// `kiln check` of recipes/hello, for real: a locked recipe (kiln.lock pins the source package
// and the ~190 .debs of the toolchain image) checked as `kiln build --locked` builds it. Slow:
// six no-cache builds of hello; the toolchain image is assembled once for all of them (kiln's
// own action, shared between a check's builds: docs/check.md). So this is the one such test,
// with three variations. As in test/recipes/hello.test.ts, a copy of the recipe is locked
// against today's archive first: the committed lock is an example.
// The verdict, and why, is in recipes/hello/README.md.
const RECIPE_SOURCE = join(repoRoot(), 'recipes', 'hello');
/**
 * The variations the issue singles out (a shifted clock, another directory order for the
 * inputs) and the one that changes the .deb; the README reports the full check.
 */
const VARIATIONS = ['time', 'fileordering', 'build_path'];
const DEB = 'hello_2.10-3_amd64.deb';

const hello = suite('recipes/hello: kiln check');

hello('a locked recipe with a Debian toolchain image is checked as kiln build builds it: the .deb changes with the build path only; a shifted clock and another input order change nothing', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const recipe = join(dir, 'recipe');
    await mkdir(recipe);
    await copyFile(join(RECIPE_SOURCE, 'kiln.yaml'), join(recipe, 'kiln.yaml'));
    const store = await createStore({ root: join(dir, 'store') });
    await lockRecipe(recipe, { store });
    const run = await runCheck({ recipe, store, locked: true, variations: VARIATIONS });
    try {
      await diffCheck(run);
      const { result } = run;
      assert.is(result.mode, 'normalized');
      assert.equal(result.controls.artifacts.map((a) => a.name), ['greeting.txt', 'hello-2.10-amd64.tar.gz', 'hello_2.10-3_amd64.deb']);
      assert.ok(result.controls.identical, `the controls differ on ${result.controls.differing.join(', ')}`);
      assert.is(result.verdict, 'sensitive');
      assert.equal(result.culprits.map((c) => [c.variations, c.artifacts]), [[['build_path'], [DEB]]]);
      assert.equal(result.unexplained, []);
      const verdict = (name: string) => result.variations.find((v) => v.name === name)!;
      assert.is(verdict('time').verdict, 'same');
      assert.is(verdict('time').method, 'libfaketime+later-run', verdict('time').methodDetail);
      assert.is(verdict('fileordering').verdict, 'same');
      assert.is(verdict('fileordering').method, 'tmpfs-scratch+tmpfs-mounts');
      // What differs: the hello binary's build-id (and so the debuglink name and md5sums).
      assert.ok(result.culprits[0]!.members?.[DEB]?.some((m) => m.includes('usr/bin/hello')), JSON.stringify(result.culprits[0]!.members));
    } finally {
      await run.cleanup();
    }
  } finally {
    await cleanup();
  }
});

hello.run();
