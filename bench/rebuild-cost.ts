// Rebuild cost (issue: kiln rebuild): `kiln rebuild` of the example's provenance against the
// original `kiln build --no-cache`, each in a fresh store, median of N runs.
//   node dist/bench/rebuild-cost.js
import { join } from 'node:path';
import { makeTempDir, repoRoot } from '../test/helpers/index.js';
import { fmt, median, timeCommand } from './util.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const root = repoRoot();
const kiln = join(root, 'bin', 'kiln.js');
const { dir, cleanup } = await makeTempDir('kiln-bench-rebuild-');
try {
  // Warm the deb input and the engine's images once, in a store both sides copy nothing from.
  const warm = { ...process.env, KILN_STORE: join(dir, 'warm') };
  timeCommand(process.execPath, [kiln, 'build', join(root, 'examples', 'hello'), '--out', join(dir, 'w')], { env: warm });
  const builds: number[] = [];
  const rebuilds: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const env = { ...process.env, KILN_STORE: join(dir, `s${r}`) };
    const out = join(dir, `o${r}`);
    // the inputs are fetched into each fresh store once first, so both sides measure building, not apt
    timeCommand(process.execPath, [kiln, 'build', join(root, 'examples', 'hello'), '--out', join(dir, `prime${r}`)], { env });
    builds.push(timeCommand(process.execPath, [kiln, 'build', join(root, 'examples', 'hello'), '--out', out, '--no-cache', '--sign-key', join(root, 'examples', 'keys', 'example.key')], { env }));
    rebuilds.push(timeCommand(process.execPath, [kiln, 'rebuild', join(out, 'hello.intoto.jsonl'), '--key', join(root, 'examples', 'keys', 'example.pub'),
      '--input', `src=${join(root, 'examples', 'hello', 'src')}`, '--sign-key', join(root, 'examples', 'keys', 'example.key'), '--out', join(dir, `r${r}`)], { env }));
  }
  const b = median(builds);
  const rb = median(rebuilds);
  console.log(`examples/hello, median of ${RUNS}:`);
  console.log(`  kiln build --no-cache      ${fmt(b)}`);
  console.log(`  kiln rebuild               ${fmt(rb)}`);
  console.log(`  ratio                      ${(rb / b).toFixed(2)}×  (target ≤ 1.1×)`);
} finally {
  await cleanup();
}
