// recipes/npm-package: two builds with no cache in two fresh stores, and the repacked tarball
// against the published one (kiln diff). A bench, not a CI test: Node and npm from Debian are
// a 475-package image (79 MB of .debs) whose assembly takes minutes per fresh store; see
// recipes/npm-package/README.md.
//   node dist/bench/recipes-npm.js
import { join } from 'node:path';
import { build, type BuildSummary } from '../src/builder/index.js';
import { diffPaths, formatText } from '../src/diff/index.js';
import { createStore, blobPathFor } from '../src/store/index.js';
import { makeTempDir, repoRoot } from '../test/helpers/index.js';
import { fmt } from './util.js';

const recipe = join(repoRoot(), 'recipes', 'npm-package');
const { dir, cleanup } = await makeTempDir('kiln-bench-npm-');
try {
  const runs: { summary: BuildSummary; out: string; ms: number; store: Awaited<ReturnType<typeof createStore>> }[] = [];
  for (const name of ['a', 'b']) {
    const store = await createStore({ root: join(dir, `store-${name}`) });
    const out = join(dir, `out-${name}`);
    const t0 = Date.now();
    const summary = await build({ recipe, out, store, locked: true, noCache: true, attest: false });
    runs.push({ summary, out, ms: Date.now() - t0, store });
  }
  const [a, b] = runs as [(typeof runs)[0], (typeof runs)[0]];
  const artifact = a.summary.artifacts[0]!;
  const same = a.summary.artifacts.every((x, i) => x.digests.sha256 === b.summary.artifacts[i]?.digests.sha256);
  console.log(`  build a (fresh store, no cache)  ${fmt(a.ms)}`);
  console.log(`  build b (fresh store, no cache)  ${fmt(b.ms)}`);
  console.log(`  image tree a = b                 ${a.summary.images.node!.tree === b.summary.images.node!.tree}`);
  console.log(`  ${artifact.name} a = b      ${same} (sha256 ${artifact.digests.sha256})`);
  const published = a.summary.inputs.published!;
  const report = await diffPaths(blobPathFor(a.store.root, published.digest), join(a.out, artifact.name));
  console.log(`  published ${published.digest} vs repacked: ${report.identical ? 'identical' : 'different'}`);
  if (!report.identical) console.log(formatText(report));
} finally {
  await cleanup();
}
