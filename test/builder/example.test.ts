import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { build } from '../../src/builder/index.js';
import { createStore } from '../../src/store/index.js';
import { makeTempDir, repoRoot } from '../helpers/index.js';

const example = suite('examples/hello');

example('builds twice with --no-cache into two fresh stores: artifacts identical byte for byte', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const recipe = join(repoRoot(), 'examples', 'hello');
    const runs = [];
    for (const n of [1, 2]) {
      const store = await createStore({ root: join(dir, `store${n}`) });
      runs.push(await build({ recipe, out: join(dir, `out${n}`), store, noCache: true }));
    }
    const [a, b] = runs as [Awaited<ReturnType<typeof build>>, Awaited<ReturnType<typeof build>>];
    assert.ok(a.artifacts.length > 0);
    assert.equal(a.artifacts, b.artifacts);
    for (const artifact of a.artifacts) {
      const one = await readFile(join(dir, 'out1', artifact.name));
      const two = await readFile(join(dir, 'out2', artifact.name));
      assert.ok(one.equals(two), `${artifact.name} differs`);
    }
    for (const step of Object.keys(a.steps)) {
      assert.is(a.steps[step]!.cached, false);
      assert.is(a.steps[step]!.outputTree, b.steps[step]!.outputTree, `step ${step} output tree`);
      assert.is(a.steps[step]!.actionKey, b.steps[step]!.actionKey);
    }
    assert.equal(a.images, b.images);
  } finally {
    await cleanup();
  }
});

example.run();
