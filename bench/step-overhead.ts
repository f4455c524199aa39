// Per-step overhead and no-op rebuild time (issue: kiln build).
//   node dist/bench/step-overhead.js
// 1. `kiln build --no-cache` of a chain of 20 trivial steps (each needs the one before)
//    against 20 plain `docker run --rm --network none` of the same image, as a ratio.
// 2. A no-op rebuild of that recipe (everything cached) against a bare `node -e 0`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, repoRoot } from '../test/helpers/index.js';
import { writeRecipe } from '../test/helpers/recipes.js';
import { fmt, median, timeCommand } from './util.js';

const STEPS = 20;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const { dir, cleanup } = await makeTempDir('kiln-bench-');
try {
  let body = 'steps:\n';
  for (let i = 0; i < STEPS; i++) {
    body += `  s${i}: { image: base, ${i ? `needs: [s${i - 1}], ` : ''}run: "echo ${i} > $KILN_OUT/n" }\n`;
  }
  body += `artifacts: [{ from: s${STEPS - 1}, path: n }]\n`;
  await writeRecipe(dir, body);
  const kiln = join(repoRoot(), 'bin', 'kiln.js');
  const env = { ...process.env, KILN_STORE: join(dir, 'store') };
  const out = join(dir, 'out');
  // Warm-up: imports the image once, so only the steps are measured.
  timeCommand(process.execPath, [kiln, 'build', dir, '--out', out, '--jobs', '1'], { env });
  const summary = JSON.parse(readFileSync(join(out, 'build.json'), 'utf8'));
  const image = `kiln.local/tree:${String(summary.images.base.tree).slice('sha256:'.length)}`;

  const kilnTimes: number[] = [];
  const dockerTimes: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    kilnTimes.push(timeCommand(process.execPath, [kiln, 'build', dir, '--out', out, '--no-cache', '--jobs', '1'], { env }));
    let total = 0;
    for (let i = 0; i < STEPS; i++) {
      total += timeCommand('docker', ['run', '--rm', '--network', 'none', image, '/bin/sh', '-c', `echo ${i} > /dev/null`]);
    }
    dockerTimes.push(total);
  }
  const k = median(kilnTimes);
  const d = median(dockerTimes);
  console.log(`chain of ${STEPS} steps, median of ${RUNS}:`);
  console.log(`  kiln build --no-cache      ${fmt(k)}  (${fmt(k / STEPS)} per step)`);
  console.log(`  ${STEPS} × docker run --rm     ${fmt(d)}  (${fmt(d / STEPS)} per run)`);
  console.log(`  ratio                      ${(k / d).toFixed(2)}×  (target ≤ 1.3×)`);

  const noop: number[] = [];
  const bare: number[] = [];
  for (let r = 0; r < 10; r++) {
    noop.push(timeCommand(process.execPath, [kiln, 'build', dir, '--out', out], { env }));
    bare.push(timeCommand(process.execPath, ['-e', '0']));
  }
  console.log(`no-op rebuild (all cached), median of 10:`);
  console.log(`  kiln build                 ${fmt(median(noop))}`);
  console.log(`  node -e 0                  ${fmt(median(bare))}`);
  console.log(`  ratio                      ${(median(noop) / median(bare)).toFixed(2)}×  (target ≤ 5×)`);
} finally {
  await cleanup();
}
