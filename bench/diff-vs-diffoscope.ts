// kiln diff against Debian's diffoscope (issue: kiln diff).
//   node dist/bench/diff-vs-diffoscope.js [MiB, default 50] [--large MiB, default 1024; 0 skips]
// Two tarballs of the given size (.tar and .tar.gz, GNU tar --sort=name, gzip -n) that differ in
// one member's mtime and one member's content (one line of a text file). Each tool runs as a
// fresh process under /usr/bin/time -v: wall time and peak RSS, median of 3, side by side;
// then whether each found both differences. Then kiln alone on a large pair: peak RSS must
// stay flat whatever the archive size. diffoscope: `apt-get install -y diffoscope-minimal`
// (Debian); skipped with a note when absent. BENCH_DIFFOSCOPE_LARGE=1 runs it on the large pair too.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, repoRoot } from '../test/helpers/index.js';
import { median } from './util.js';

const MiB = 1 << 20;
const args = process.argv.slice(2);
const largeAt = args.indexOf('--large');
const sizeMiB = Number(args.find((a, i) => !a.startsWith('--') && i !== largeAt + 1) ?? 50);
const largeMiB = largeAt === -1 ? 1024 : Number(args[largeAt + 1]);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const EPOCH = 1_700_000_000;
const TIME_MEMBER = 'bin/blob-0007.bin';
const CONTENT_MEMBER = 'doc/text-0042.txt';

const haveTime = existsSync('/usr/bin/time');
const haveDiffoscope = spawnSync('diffoscope', ['--version'], { stdio: 'ignore' }).status === 0;
const kilnCli = join(repoRoot(), 'dist', 'bench', 'diff-cli.js');

interface Run {
  ms: number;
  rssMiB: number;
  exit: number | null;
  stdout: string;
}

/** One process under /usr/bin/time -v: wall time measured here, peak RSS from time's report. */
function measure(cmd: string, cmdArgs: string[]): Run {
  const argv = haveTime ? ['/usr/bin/time', ['-v', cmd, ...cmdArgs]] as const : [cmd, cmdArgs] as const;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], [...argv[1]], { encoding: 'utf8', maxBuffer: 256 * MiB });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '');
  if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`);
  return { ms, rssMiB: rss ? Number(rss[1]) / 1024 : NaN, exit: r.status, stdout: r.stdout };
}

function best(cmd: string, cmdArgs: string[], runs = RUNS): Run {
  const all = Array.from({ length: runs }, () => measure(cmd, cmdArgs));
  return { ...all[0]!, ms: median(all.map((r) => r.ms)), rssMiB: Math.max(...all.map((r) => r.rssMiB)) };
}

/** A tree of ~`mib` MiB: 3/4 incompressible binaries, 1/4 text; then its changed twin. */
async function makePair(dir: string, mib: number): Promise<{ a: string; b: string }> {
  const treeA = join(dir, 'tree-a');
  const treeB = join(dir, 'tree-b');
  const blobSize = mib >= 512 ? 4 * MiB : 128 * 1024;
  const blobs = Math.max(8, Math.round((mib * MiB * 0.75) / blobSize));
  const texts = Math.max(43, Math.round((mib * MiB * 0.25) / (64 * 1024)));
  for (const tree of [treeA, treeB]) {
    await mkdir(join(tree, 'bin'), { recursive: true });
    await mkdir(join(tree, 'doc'), { recursive: true });
  }
  for (let i = 0; i < blobs; i++) {
    const name = `bin/blob-${String(i).padStart(4, '0')}.bin`;
    await writeFile(join(treeA, name), randomBytes(blobSize));
    await copyFile(join(treeA, name), join(treeB, name));
  }
  const line = (i: number, j: number) => `${String(j).padStart(5, '0')} text file ${i}, a line of ordinary words for the diff to read\n`;
  for (let i = 0; i < texts; i++) {
    const name = `doc/text-${String(i).padStart(4, '0')}.txt`;
    const lines = Array.from({ length: 880 }, (_, j) => line(i, j));
    await writeFile(join(treeA, name), lines.join(''));
    if (name === CONTENT_MEMBER) lines[440] = lines[440]!.replace('ordinary', 'CHANGED!');
    await writeFile(join(treeB, name), lines.join(''));
  }
  for (const tree of [treeA, treeB]) {
    const r = spawnSync('sh', ['-c', `cd '${tree}' && find . -exec touch -h -d @${EPOCH} {} +`]);
    if (r.status !== 0) throw new Error(String(r.stderr));
  }
  await utimes(join(treeB, TIME_MEMBER), EPOCH + 3600, EPOCH + 3600);
  const a = join(dir, 'a.tar');
  const b = join(dir, 'b.tar');
  for (const [tree, out] of [[treeA, a], [treeB, b]] as const) {
    const r = spawnSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--format=gnu', '-C', tree, '-cf', out, '.']);
    if (r.status !== 0) throw new Error(String(r.stderr));
  }
  await rm(treeA, { recursive: true });
  await rm(treeB, { recursive: true });
  return { a, b };
}

function gz(file: string): string {
  const r = spawnSync('sh', ['-c', `gzip -n -1 -c '${file}' > '${file}.gz'`]);
  if (r.status !== 0) throw new Error(String(r.stderr));
  return `${file}.gz`;
}

/** Did the tool's report name both changed members? (diffoscope lists the mtime in its file list.) */
const found = (out: string) => ({ mtime: out.includes(TIME_MEMBER), content: out.includes(CONTENT_MEMBER) });
const mark = (f: { mtime: boolean; content: boolean }) => `mtime ${f.mtime ? 'found' : 'MISSED'}, content ${f.content ? 'found' : 'MISSED'}`;
const row = (label: string, r: Run) => `  ${label.padEnd(22)} ${`${r.ms.toFixed(0)} ms`.padStart(9)}  peak RSS ${`${r.rssMiB.toFixed(0)} MiB`.padStart(8)}  exit ${r.exit}`;

const { dir, cleanup } = await makeTempDir('kiln-bench-diff-');
try {
  if (!haveTime) console.log('note: /usr/bin/time is absent (apt-get install time): peak RSS not measured');
  if (!haveDiffoscope) console.log('note: diffoscope is absent (Debian: apt-get install -y diffoscope-minimal): kiln only');
  const pair = await makePair(dir, sizeMiB);
  const pairs = [
    ['tar', pair.a, pair.b],
    ['tar.gz', gz(pair.a), gz(pair.b)],
  ] as const;
  console.log(`two ${sizeMiB} MiB tarballs, one member's mtime and one member's content differ; median of ${RUNS}:`);
  for (const [kind, a, b] of pairs) {
    const kiln = best(process.execPath, [kilnCli, a, b]);
    console.log(`${kind}:`);
    console.log(`${row('kiln diff', kiln)}  (${mark(found(kiln.stdout))})`);
    if (haveDiffoscope) {
      const scope = best('diffoscope', ['--no-progress', '--text', '-', a, b]);
      console.log(`${row('diffoscope', scope)}  (${mark(found(scope.stdout))})`);
      console.log(`  → kiln ${(scope.ms / kiln.ms).toFixed(1)}× faster, ${(kiln.rssMiB / scope.rssMiB).toFixed(2)}× diffoscope's peak memory`);
    }
  }
  if (largeMiB > 0) {
    await mkdir(join(dir, 'large'));
    const large = await makePair(join(dir, 'large'), largeMiB);
    const kinds = [
      ['tar', large.a, large.b],
      ['tar.gz', gz(large.a), gz(large.b)],
    ] as const;
    console.log(`flat memory: two ${largeMiB} MiB tarballs, same two differences:`);
    for (const [kind, a, b] of kinds) {
      const kiln = best(process.execPath, [kilnCli, a, b], 1);
      console.log(`${kind}:`);
      console.log(`${row('kiln diff', kiln)}  (${mark(found(kiln.stdout))})`);
      if (haveDiffoscope && process.env.BENCH_DIFFOSCOPE_LARGE === '1') {
        const scope = best('diffoscope', ['--no-progress', '--text', '-', a, b], 1);
        console.log(`${row('diffoscope', scope)}  (${mark(found(scope.stdout))})`);
      }
    }
  }
} finally {
  await cleanup();
}
