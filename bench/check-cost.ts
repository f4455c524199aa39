// Cost of `kiln check` (issue: kiln check, "Measure").
//   node dist/bench/check-cost.js [recipe]     (default: examples/hello)
// Time of a full check of the bundled example against one `--no-cache` build of it, as
// "builds' worth" (target: 3 when it reproduces: two controls and one experiment; the two
// controls run concurrently, so on 2 cores the check may cost less than 3 builds' wall time).
// reprotest is compared when it is installed (it builds twice, in its own virtual server).
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { build } from '../src/builder/index.js';
import { runCheck } from '../src/check/index.js';
import { createStore } from '../src/store/index.js';
import { makeTempDir, repoRoot } from '../test/helpers/index.js';
import { fmt, median } from './util.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const recipe = resolve(process.argv[2] ?? join(repoRoot(), 'examples', 'hello'));

const { dir, cleanup } = await makeTempDir('kiln-bench-check-');
try {
  const store = await createStore({ root: join(dir, 'store') });
  // Warm-up: fetch inputs and import images once, so only builds are measured.
  await build({ recipe, out: join(dir, 'warm'), store, noCache: true, attest: false });
  const builds: number[] = [];
  const checks: number[] = [];
  let verdict = '';
  let count = 0;
  for (let i = 0; i < RUNS; i++) {
    let t0 = performance.now();
    await build({ recipe, out: join(dir, `b${i}`), store, noCache: true, attest: false });
    builds.push(performance.now() - t0);
    t0 = performance.now();
    const run = await runCheck({ recipe, store });
    checks.push(performance.now() - t0);
    verdict = run.result.verdict;
    count = run.result.builds;
    await run.cleanup();
  }
  const b = median(builds);
  const c = median(checks);
  console.log(`recipe ${recipe}`);
  console.log(`one --no-cache build: ${fmt(b)} (median of ${RUNS})`);
  console.log(`kiln check:           ${fmt(c)} → ${(c / b).toFixed(2)} builds' worth; verdict ${verdict}, ${count} builds`);
  const reprotest = spawnSync('reprotest', ['--version'], { encoding: 'utf8' });
  if (reprotest.status === 0) {
    console.log(`reprotest ${reprotest.stdout.trim()} is installed: compare with \`reprotest --vary=-all,+time,+timezone '<build command>' '<artifact>'\` by hand (it needs the build outside kiln).`);
  } else {
    console.log('reprotest: not installed here (it needs Debian\'s reprotest and diffoscope); not compared');
  }
} finally {
  await cleanup();
}
