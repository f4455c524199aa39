// Cost of `kiln check` (issues "kiln check" and "kiln check finds what reprotest finds").
//   node dist/bench/check-cost.js [recipe]     (default: examples/hello)
// 1. A full check of the recipe against one `--no-cache` build of it, as "builds' worth"
//    (target about 3 when it reproduces: two controls and one experiment; the controls run
//    concurrently, so on 2 cores the check may cost less than 3 builds' wall time).
// 2. The same shell script judged by `kiln check` (as the one step of a recipe whose image is
//    this host's own glibc programs, so libfaketime applies) and by `reprotest --auto-build`
//    (null virtual server, diff instead of diffoscope), side by side in one run: a quick script
//    and one that computes for a few seconds. reprotest is installed by scripts/setup-bench.sh;
//    absent, that part is skipped with a message.
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from '../src/builder/index.js';
import { runCheck } from '../src/check/index.js';
import { createStore, type Store } from '../src/store/index.js';
import { makeTempDir, repoRoot } from '../test/helpers/index.js';
import { writeRecipe } from '../test/helpers/recipes.js';
import { fmt, median } from './util.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const recipe = resolve(process.argv[2] ?? join(repoRoot(), 'examples', 'hello'));

/** Scripts both tools can run: reproducible, so each tool does its minimum (kiln 3 builds, reprotest 2). */
const SCRIPTS: Record<string, string> = {
  quick: [
    'mkdir -p out d && echo a > d/a',
    'date -u -d @1700000000 +%Y-%m-%dT%H:%M:%S > out/sde.txt',
    'find d | sort > out/listing.txt',
    'tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner --mode=go-w -cf out/canonical.tar d',
  ].join('\n'),
  // About 4 s of one core: gzip -9 of 64 MiB of generated text, twice.
  compute: [
    'mkdir -p out',
    'i=0; while [ $i -lt 4 ]; do seq 1 2000000; i=$((i+1)); done > data.txt',
    'gzip -9 -n -c data.txt > out/data.gz',
    'gzip -9 -n -c data.txt | gzip -d | cmp - data.txt',
  ].join('\n'),
};
const HOST_PROGRAMS = ['sh', 'date', 'tar', 'gzip', 'mkdir', 'find', 'sort', 'seq', 'cmp', 'cat', 'cp'];

async function checkVsBuild(dir: string, store: Store): Promise<void> {
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
}

async function checkVsReprotest(dir: string, store: Store, name: string, script: string, reprotest: boolean): Promise<void> {
  const src = join(dir, `script-${name}`, 'recipe', 'src');
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'build.sh'), `set -e\n${script}\n`);
  const recipeFile = await writeRecipe(join(dir, `script-${name}`, 'recipe'), `inputs:
  src: { path: src }
steps:
  script:
    image: base
    inputs: [src]
    run: |
      cp /kiln/inputs/src/build.sh . && sh build.sh && cp -R out/. $KILN_OUT/
artifacts:
  - { from: script, path: "*" }
`, { rootfs: 'host', programs: HOST_PROGRAMS });
  const { lockRecipe } = await import('../src/lock/index.js');
  await lockRecipe(recipeFile, { store });
  await build({ recipe: recipeFile, out: join(dir, `script-${name}`, 'warm'), store, noCache: true, attest: false });
  const kiln: number[] = [];
  const peer: number[] = [];
  let verdict = '';
  let method = '';
  let peerVerdict = '';
  for (let i = 0; i < RUNS; i++) {
    let t0 = performance.now();
    const run = await runCheck({ recipe: recipeFile, store });
    kiln.push(performance.now() - t0);
    verdict = `${run.result.verdict}, ${run.result.builds} builds`;
    method = run.result.variations.find((v) => v.name === 'time')?.method ?? '';
    await run.cleanup();
    if (!reprotest) continue;
    t0 = performance.now();
    const r = spawnSync('reprotest', ['--auto-build', '--no-diffoscope', '--store-dir', join(dir, `rp-${name}-${i}`), '-c', 'sh build.sh', '.', 'out/*'], { cwd: src, encoding: 'utf8' });
    peer.push(performance.now() - t0);
    peerVerdict = r.status === 0 ? 'reproducible' : `exit ${r.status}: ${(r.stdout + r.stderr).trim().split('\n').slice(-3).join(' | ')}`;
  }
  console.log(`script "${name}": kiln check ${fmt(median(kiln))} (${verdict}; time: ${method})` +
    (reprotest ? `; reprotest --auto-build ${fmt(median(peer))} (${peerVerdict}) → kiln/reprotest ${(median(kiln) / median(peer)).toFixed(2)}` : ''));
}

const { dir, cleanup } = await makeTempDir('kiln-bench-check-');
try {
  const store = await createStore({ root: join(dir, 'store') });
  await checkVsBuild(dir, store);
  const reprotest = spawnSync('reprotest', ['--help'], { encoding: 'utf8' }).status === 0;
  if (!reprotest) console.log('reprotest: not installed (run scripts/setup-bench.sh); the side-by-side part shows kiln alone');
  for (const [name, script] of Object.entries(SCRIPTS)) await checkVsReprotest(dir, store, name, script, reprotest);
} finally {
  await cleanup();
}
