// Start-up cost of the CLI, side by side with another kiln checkout (e.g. main, built), in one
// run with the commands interleaved so that the machine's load hits both alike:
//   node dist/bench/startup.js [other-checkout] [rounds]
// Each round times `node -e 0`, `kiln version`, and a no-op `kiln build` (everything cached) of
// examples/hello and of a chain of 20 trivial steps, with this checkout and the other one.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, repoRoot } from '../test/helpers/index.js';
import { writeRecipe } from '../test/helpers/recipes.js';
import { median, timeCommand } from './util.js';

const here = repoRoot();
const other = process.argv[2];
const ROUNDS = Number(process.argv[3] ?? 20);
if (other !== undefined && !existsSync(join(other, 'dist', 'src', 'cli', 'main.js'))) throw new Error(`${other} is not a built kiln checkout (no dist/src/cli/main.js)`);

const { dir, cleanup } = await makeTempDir('kiln-bench-startup-');
try {
  let body = 'steps:\n';
  for (let i = 0; i < 20; i++) body += `  s${i}: { image: base, ${i ? `needs: [s${i - 1}], ` : ''}run: "echo ${i} > $KILN_OUT/n" }\n`;
  const chain = await writeRecipe(join(dir, 'chain'), body + 'artifacts: [{ from: s19, path: n }]\n');
  const hello = join(here, 'examples', 'hello');
  const env = { ...process.env, KILN_STORE: join(dir, 'store') };
  const trees = [['this', here], ...(other !== undefined ? [['other', other]] : [])] as const;
  const cases: Array<[string, string[]]> = [['node -e 0', ['-e', '0']]];
  for (const [label, root] of trees) {
    const kiln = join(root, 'bin', 'kiln.js');
    cases.push([`${label}: kiln version`, [kiln, 'version']]);
    cases.push([`${label}: no-op build hello`, [kiln, 'build', hello, '--out', join(dir, `${label}-hello`)]]);
    cases.push([`${label}: no-op build chain20`, [kiln, 'build', chain, '--out', join(dir, `${label}-chain`)]]);
  }
  // Warm-up: fills the store (the first build of each recipe runs its steps) and the page cache.
  for (const [, args] of cases) timeCommand(process.execPath, args, { env });
  const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (let r = 0; r < ROUNDS; r++) for (const [name, args] of cases) times.get(name)!.push(timeCommand(process.execPath, args, { env }));
  const bare = median(times.get('node -e 0')!);
  console.log(`${ROUNDS} interleaved rounds; median, min, and the median against node -e 0`);
  for (const [name, t] of times) console.log(`  ${name.padEnd(30)} ${median(t).toFixed(0).padStart(5)} ms  min ${Math.min(...t).toFixed(0).padStart(5)} ms  ${(median(t) / bare).toFixed(2)}×`);
} finally {
  await cleanup();
}
