// kiln build on a Remote Execution API farm (the local Buildbarn cluster) against the local
// Docker engine, side by side in one run (issue: remote execution).
//   node dist/bench/reapi-build.js          (starts scripts/buildbarn.sh when it is not up;
//                                            KILN_BB_PORT_BASE picks the cluster)
// 1. Per-step overhead: `kiln build --no-cache --jobs 1` of a chain of 20 trivial steps (each
//    needs the one before) with `--engine reapi` and with `--engine docker`, rounds interleaved,
//    BENCH_RUNS rounds (default 3), medians; the fixed cost of a build (a no-op, all cached) is
//    subtracted before dividing by 20. Target: farm ≤ 1.0× Docker.
// 2. A wide recipe: 16 independent steps of `sleep 2`, `--jobs 16`, on the cluster's 2 workers,
//    against the ideal 16 × 2 s / 2 workers = 16 s (target ≤ 1.2×); Docker with `--jobs 2` on
//    this machine beside it.
import { join } from 'node:path';
import { makeTempDir, repoRoot } from '../test/helpers/index.js';
import { writeRecipe } from '../test/helpers/recipes.js';
import { ensureCluster } from '../test/reapi/cluster.js';
import { fmt, median, timeCommand } from './util.js';

const STEPS = 20;
const WIDE = 16;
const SLEEP_S = 2;
const WORKERS = 2;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const cluster = ensureCluster();
const kiln = join(repoRoot(), 'bin', 'kiln.js');
const farm = ['--engine', 'reapi', '--remote-executor', cluster.endpoint];
const docker = ['--engine', 'docker'];
const { dir, cleanup } = await makeTempDir('kiln-bench-reapi-build-');
try {
  // --- 1. the chain ------------------------------------------------------------------------
  const chain = join(dir, 'chain');
  let body = 'steps:\n';
  for (let i = 0; i < STEPS; i++) body += `  s${i}: { image: base, ${i ? `needs: [s${i - 1}], ` : ''}run: "echo ${i} > $KILN_OUT/n" }\n`;
  body += `artifacts: [{ from: s${STEPS - 1}, path: n }]\n`;
  await writeRecipe(chain, body);
  const env = { ...process.env, KILN_STORE: join(dir, 'store'), KILN_ENGINE: '', KILN_REMOTE_EXECUTOR: '' };
  const buildChain = (engine: string[], extra: string[] = ['--no-cache']) =>
    timeCommand(process.execPath, [kiln, 'build', chain, '--out', join(dir, 'out'), '--jobs', '1', ...engine, ...extra], { env });
  // Warm-up: the image reaches Docker and the farm's CAS and file caches once.
  buildChain(docker);
  buildChain(farm);
  const times = { docker: [] as number[], farm: [] as number[], noop: [] as number[] };
  for (let r = 0; r < RUNS; r++) {
    times.docker.push(buildChain(docker));
    times.farm.push(buildChain(farm));
    times.noop.push(buildChain(docker, []));
  }
  const noop = median(times.noop);
  const perStep = (t: number) => (t - noop) / STEPS;
  const d = median(times.docker);
  const f = median(times.farm);
  console.log(`chain of ${STEPS} steps, kiln build --no-cache --jobs 1, median of ${RUNS}:`);
  console.log(`  --engine docker            ${fmt(d)}  (${fmt(perStep(d))} per step)`);
  console.log(`  --engine reapi (Buildbarn) ${fmt(f)}  (${fmt(perStep(f))} per step)`);
  console.log(`  no-op build (all cached)   ${fmt(noop)}  (subtracted before the per-step figures)`);
  console.log(`  per-step ratio farm/docker ${(perStep(f) / perStep(d)).toFixed(2)}×  (target ≤ 1.0×); whole builds ${(f / d).toFixed(2)}×`);

  // --- 2. the wide recipe --------------------------------------------------------------------
  const wide = join(dir, 'wide');
  body = 'steps:\n';
  for (let i = 0; i < WIDE; i++) body += `  w${i}: { image: base, run: "sleep ${SLEEP_S}; echo ${i} > $KILN_OUT/w${i}" }\n`;
  body += `artifacts:\n${Array.from({ length: WIDE }, (_, i) => `  - { from: w${i}, path: w${i} }\n`).join('')}`;
  await writeRecipe(wide, body);
  const buildWide = (engine: string[], jobs: number) =>
    timeCommand(process.execPath, [kiln, 'build', wide, '--out', join(dir, 'out-wide'), '--no-cache', '--jobs', String(jobs), ...engine], { env });
  buildWide(farm, WIDE);
  const wideTimes = { farm: [] as number[], docker: [] as number[] };
  for (let r = 0; r < RUNS; r++) {
    wideTimes.farm.push(buildWide(farm, WIDE));
    wideTimes.docker.push(buildWide(docker, WORKERS));
  }
  const ideal = (WIDE * SLEEP_S * 1000) / WORKERS;
  const wf = median(wideTimes.farm);
  console.log(`${WIDE} independent ${SLEEP_S}-second steps, kiln build --no-cache, median of ${RUNS}:`);
  console.log(`  --engine reapi --jobs ${WIDE} (${WORKERS} workers) ${fmt(wf)}  (ideal ${fmt(ideal)}: ${(wf / ideal).toFixed(2)}×, target ≤ 1.2×)`);
  console.log(`  --engine docker --jobs ${WORKERS}            ${fmt(median(wideTimes.docker))}  (${(median(wideTimes.docker) / ideal).toFixed(2)}× the same ideal)`);
} finally {
  await cleanup();
}
