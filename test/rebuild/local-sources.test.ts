import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { build, type BuildEvent } from '../../src/builder/index.js';
import { rebuild } from '../../src/rebuild/index.js';
import { createStore } from '../../src/store/index.js';
import { writeSourcePackage } from '../fetch/debsrc-fixture.js';
import { makeTempDir, rejectsWithCode, repoRoot } from '../helpers/index.js';
import { sri, writeRecipe } from '../helpers/recipes.js';

const KEY = join(repoRoot(), 'examples', 'keys', 'example.key');
const PUB = join(repoRoot(), 'examples', 'keys', 'example.pub');

const local = suite('rebuild: local sources come only through --input');

local('a provenance whose recipe reads a file: URL (a debsrc .dsc) is refused before any step, even with the bytes in the store', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const pkg = await writeSourcePackage(dir);
    const recipe = await writeRecipe(join(dir, 'recipe'), `
inputs:
  src: { debsrc: hello=1.0-1, dsc: "${pkg.dscUrl}", integrity: "${sri(pkg.dscText)}" }
steps:
  list: { image: base, inputs: [src], run: "ls /kiln/inputs/src > $KILN_OUT/listing" }
artifacts: [{ from: list, path: listing }]
`);
    const store = await createStore({ root: join(dir, 'store') });
    const summary = await build({ recipe, out: join(dir, 'original'), store, attest: { signKey: KEY } });
    const events: BuildEvent[] = [];
    const err = await rejectsWithCode<{ input: string }>(
      () =>
        rebuild({
          provenance: join(dir, 'original', `${summary.recipe.name}.intoto.jsonl`),
          keys: [PUB],
          inputs: { rootfs: join(dir, 'recipe', summary.inputs.rootfs!.uri.replace(/^file:/, '')) },
          out: join(dir, 'rebuilt'),
          // The same store: the .dsc is there by its digest, and still not used.
          store,
          reporter: (e) => events.push(e),
        }),
      'KILN_FETCH_LOCAL_SOURCE',
    );
    assert.is(err.input, 'src');
    assert.not.ok(events.some((e) => e.type === 'step-start'), 'no step ran');
  } finally {
    await cleanup();
  }
});

local.run();
