// Debian image assembly against mmdebstrap, Debian's own tool for a root filesystem from a
// package list (issue: Debian images as fast as mmdebstrap).
//   bash scripts/setup-bench.sh && npm run build && node dist/bench/debian-assembly.js
// Needs root (mmdebstrap's root mode), Docker, apt's sources (lock and one download of the .debs).
//
// 1. `kiln lock` of two bench recipes against today's archive: A is recipes/toolchain's image
//    with one trivial step in it; B is the same image plus one package (BENCH_EXTRA, `hello`).
// 2. The .debs of B (a superset of A) are downloaded once into a seed store and laid out as a
//    local apt repository (apt-ftparchive), so that the network is out of the comparison.
// 3. Each round, side by side (their order alternates between rounds):
//    - mmdebstrap: `--variant=minbase` (kiln's choice: Debian's required set, no recommends),
//      merged-/usr as kiln lays it out, `--include` every package of A's lock, from the local
//      repository (`copy://`), into a fresh directory;
//    - mmdebstrap as a Docker user runs it to get what kiln's build gives, an engine image: the
//      same, as a tar on stdout into `docker import` (context: the target compares with the
//      directory);
//    - kiln, cold: `kiln build A --locked` in a fresh store holding only the .debs, with the
//      engine's images of A's trees removed first (an image another process is using stays, and
//      the round says so);
//    - kiln, warm: the same build again (everything cached);
//    - kiln, B after A: the one-package-different image in A's store.
//    Wall time, peak RSS (of the kiln process; of mmdebstrap's whole process tree) and store
//    growth (mmdebstrap: its output directory). kiln's time is split from its progress lines:
//    stage 1 (unpack and merge), the assembly step (image import, dpkg, output read back), and
//    the first step (the image imported into the engine, the step run).
// Round 0 is a warm-up (page cache, digests of the trees to remove later) and is not counted.
// BENCH_RUNS=N counted rounds (default 3); medians are printed.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fetchDebianPackages, debianStage1 } from '../src/image/index.js';
import { loadBuildRecipe, lockRecipe } from '../src/lock/index.js';
import type { DebianImageSpec, DebianPackagePin } from '../src/recipe/index.js';
import { blobPathFor, createStore } from '../src/store/index.js';
import { makeTempDir, repoRoot } from '../test/helpers/index.js';
import { median } from './util.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const EXTRA = process.env.BENCH_EXTRA ?? 'hello';
const root = repoRoot();
const kiln = join(root, 'bin', 'kiln.js');

for (const tool of ['mmdebstrap', 'apt-ftparchive', '/usr/bin/time']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`debian-assembly: ${tool} is missing; run bash scripts/setup-bench.sh`);
    process.exit(2);
  }
}

/** The toolchain's package list, read from its recipe (the bench follows it when it changes). */
const toolchain = await loadBuildRecipe(join(root, 'recipes', 'toolchain'), { locked: false }).catch(() => undefined);
const packages = (toolchain?.images.toolchain as DebianImageSpec | undefined)?.packages
  ?? ['build-essential', 'dpkg-dev', 'fakeroot', 'debhelper', 'help2man', 'texinfo'];

// A's image is recipes/toolchain's (a tree has no times, so another sourceDateEpoch would not
// make it the bench's own): `docker rmi` between rounds leaves it while any container, the bench's
// or another build's, uses it, and the round says so.
const recipeText = (name: string, list: string[]) => `kiln: 1
name: ${name}
sourceDateEpoch: 1700000000
images:
  toolchain:
    debian:
      packages: [${list.join(', ')}]
steps:
  ready:
    image: toolchain
    run: echo ready > $KILN_OUT/ready.txt
artifacts:
  - from: ready
    path: ready.txt
`;

interface KilnRun {
  wallMs: number;
  rssKiB: number;
  /** Phases from the progress lines (ms); undefined when the build had nothing to do there. */
  stage1?: number;
  assembly?: number;
  firstStep?: number;
}

/** Runs `kiln build` under /usr/bin/time, timing its progress lines as they arrive. */
async function kilnBuild(recipeDir: string, store: string, out: string): Promise<KilnRun> {
  const timeFile = join(out, '..', `time-${Date.now()}`);
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%e %M', '-o', timeFile, process.execPath, kiln, 'build', recipeDir, '--locked', '--out', out], {
    env: { ...process.env, KILN_STORE: store },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const at = new Map<string, number>();
  const tail: string[] = [];
  for await (const line of createInterface({ input: child.stderr })) {
    tail.push(line);
    if (tail.length > 30) tail.shift();
    const key = /^kiln: (input image:toolchain|step image:toolchain: running|step image:toolchain: (?:done|cached)|step ready: (?:done|cached))/.exec(line)?.[1];
    if (key && !at.has(key)) at.set(key, performance.now() - t0);
  }
  const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const wallMs = performance.now() - t0;
  if (code !== 0) throw new Error(`kiln build ${recipeDir} failed (${code}):\n${tail.join('\n')}`);
  const [, rss] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ');
  rmSync(timeFile, { force: true });
  const fetched = at.get('input image:toolchain');
  const running = at.get('step image:toolchain: running');
  const assembled = at.get('step image:toolchain: done');
  const ready = at.get('step ready: done');
  return {
    wallMs,
    rssKiB: Number(rss),
    ...(fetched !== undefined && running !== undefined && { stage1: running - fetched }),
    ...(running !== undefined && assembled !== undefined && { assembly: assembled - running }),
    ...(assembled !== undefined && ready !== undefined && { firstStep: ready - assembled }),
  };
}

const du = (path: string) => Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const sec = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

/** Removes the engine's images of these trees; an image in use by a container stays (reported). */
function dropImages(trees: string[]): string[] {
  const kept: string[] = [];
  for (const tree of trees) {
    const ref = `kiln.local/tree:${tree.slice('sha256:'.length)}`;
    if (spawnSync('docker', ['image', 'inspect', ref], { stdio: 'ignore' }).status !== 0) continue;
    if (spawnSync('docker', ['rmi', ref], { stdio: 'ignore' }).status !== 0) kept.push(tree.slice(7, 19));
  }
  return kept;
}

const { dir, cleanup } = await makeTempDir('kiln-bench-debian-');
try {
  // 1. Lock A and B against today's archive.
  const recipes = { a: join(dir, 'image-a'), b: join(dir, 'image-b') };
  mkdirSync(recipes.a);
  mkdirSync(recipes.b);
  writeFileSync(join(recipes.a, 'kiln.yaml'), recipeText('bench-toolchain', packages));
  writeFileSync(join(recipes.b, 'kiln.yaml'), recipeText('bench-toolchain-plus', [...packages, EXTRA]));
  const lockStore = await createStore({ root: join(dir, 'store-lock') });
  const pinsOf = async (recipe: string): Promise<DebianPackagePin[]> =>
    (await lockRecipe(join(recipe, 'kiln.yaml'), { store: lockStore })).lock.debian!.toolchain!;
  const pinsA = await pinsOf(recipes.a);
  const pinsB = await pinsOf(recipes.b);
  const key = (p: DebianPackagePin) => `${p.package}=${p.version}`;
  const inA = new Set(pinsA.map(key));
  const onlyB = pinsB.filter((p) => !inA.has(key(p))).map(key);
  const onlyA = pinsA.filter((p) => !new Set(pinsB.map(key)).has(key(p))).map(key);
  console.log(`A: ${pinsA.length} packages, ${mib(pinsA.reduce((n, p) => n + p.size, 0))} of .debs; B = A + ${onlyB.join(' ')}${onlyA.length ? ` - ${onlyA.join(' ')}` : ''}`);

  // 2. The .debs once, into a seed store, and as a local apt repository.
  const seed = join(dir, 'seed');
  const seedStore = await createStore({ root: seed });
  let t0 = performance.now();
  const debs = await fetchDebianPackages(seedStore, pinsB);
  console.log(`download of B's .debs: ${sec(performance.now() - t0)} (once, not compared)`);
  const repo = join(dir, 'repo');
  mkdirSync(repo);
  for (const deb of debs) {
    const name = `${deb.pin.package}_${deb.pin.version.replace(/:/g, '%3a')}_${deb.pin.arch}.deb`;
    linkSync(blobPathFor(seed, deb.digest), join(repo, name));
  }
  const codename = /^VERSION_CODENAME=(.*)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'stable';
  writeFileSync(join(repo, 'Packages'), execFileSync('apt-ftparchive', ['packages', '.'], { cwd: repo, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 }));
  const release = ['Suite', 'Codename'].flatMap((f) => ['-o', `APT::FTPArchive::Release::${f}=${codename}`]);
  writeFileSync(join(repo, 'Release'), execFileSync('apt-ftparchive', [...release, 'release', '.'], { cwd: repo, stdio: ['ignore', 'pipe', 'ignore'] }));

  const mmTarget = join(dir, 'mmdebstrap-out');
  const mmdebstrap = (): { wallMs: number; rssKiB: number; bytes: number; installed: number } => {
    rmSync(mmTarget, { recursive: true, force: true });
    const timeFile = join(dir, 'mm-time');
    const args = [
      '-f', '%e %M', '-o', timeFile, 'mmdebstrap', '--variant=minbase', '--mode=root', '--format=directory',
      '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr', `--include=${pinsA.map((p) => p.package).join(',')}`,
      codename, mmTarget, `deb [trusted=yes] copy://${repo} ./`,
    ];
    const t = performance.now();
    const r = spawnSync('/usr/bin/time', args, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
    const wallMs = performance.now() - t;
    if (r.status !== 0) throw new Error(`mmdebstrap failed (${r.status}):\n${String(r.stderr).split('\n').slice(-30).join('\n')}`);
    const [, rss] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ');
    const installed = execFileSync('dpkg-query', [`--admindir=${join(mmTarget, 'var/lib/dpkg')}`, '-W', '-f', '${db:Status-Status}\\n'], { encoding: 'utf8' })
      .split('\n').filter((s) => s === 'installed').length;
    return { wallMs, rssKiB: Number(rss), bytes: du(mmTarget), installed };
  };

  const mmImageTag = `kiln.local/bench-mmdebstrap:${process.pid}`;
  const mmdebstrapImage = (): { wallMs: number } => {
    const mm = [
      'mmdebstrap', '--quiet', '--variant=minbase', '--mode=root', '--format=tar', '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
      `--include=${pinsA.map((p) => p.package).join(',')}`, codename, '-', `deb [trusted=yes] copy://${repo} ./`,
    ];
    const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const t = performance.now();
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `${mm.map(quote).join(' ')} | docker import - ${mmImageTag} >/dev/null`], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
    const wallMs = performance.now() - t;
    if (r.status !== 0) throw new Error(`mmdebstrap | docker import failed (${r.status}):\n${String(r.stderr).split('\n').slice(-30).join('\n')}`);
    spawnSync('docker', ['rmi', mmImageTag], { stdio: 'ignore' });
    return { wallMs };
  };

  // Trees whose engine images a cold round removes: found after the warm-up round.
  const treesOf = async (recipe: string, store: string): Promise<string[]> => {
    const spec = (await loadBuildRecipe(recipe, { locked: true })).images.toolchain as DebianImageSpec;
    const stage1 = await debianStage1(await createStore({ root: store }), spec);
    const summary = JSON.parse(readFileSync(join(dir, `out-${recipe === recipes.a ? 'a' : 'b'}`, 'build.json'), 'utf8')) as { images: Record<string, { tree: string }> };
    return [stage1.base, summary.images.toolchain!.tree];
  };
  let dropA: string[] = [];
  let dropB: string[] = [];

  interface Round { mm: ReturnType<typeof mmdebstrap>; mmImage: ReturnType<typeof mmdebstrapImage>; cold: KilnRun; warm: KilnRun; plus: KilnRun; coldGrowth: number; warmGrowth: number; plusGrowth: number; kept: string[] }
  const rounds: Round[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const store = join(dir, `store-${i}`);
    rmSync(store, { recursive: true, force: true });
    cpSync(seed, store, { recursive: true });
    const seeded = du(store);
    const kept = [...dropImages(dropA), ...dropImages(dropB)];
    const kilnSide = async () => {
      const cold = await kilnBuild(recipes.a, store, join(dir, 'out-a'));
      const afterCold = du(store);
      const warm = await kilnBuild(recipes.a, store, join(dir, 'out-a'));
      const afterWarm = du(store);
      const plus = await kilnBuild(recipes.b, store, join(dir, 'out-b'));
      return { cold, warm, plus, coldGrowth: afterCold - seeded, warmGrowth: afterWarm - afterCold, plusGrowth: du(store) - afterWarm };
    };
    let mm;
    let mmImage;
    let k;
    if (i % 2 === 0) {
      mm = mmdebstrap();
      mmImage = mmdebstrapImage();
      k = await kilnSide();
    } else {
      k = await kilnSide();
      mmImage = mmdebstrapImage();
      mm = mmdebstrap();
    }
    if (i === 0) {
      dropA = await treesOf(recipes.a, store);
      dropB = (await treesOf(recipes.b, store)).filter((t) => !dropA.includes(t));
      console.log(`warm-up: mmdebstrap ${sec(mm.wallMs)} (${mm.installed} packages installed), kiln cold ${sec(k.cold.wallMs)}, B after A ${sec(k.plus.wallMs)}`);
      if (mm.installed !== pinsA.length) console.log(`  note: mmdebstrap installed ${mm.installed} packages, kiln's lock has ${pinsA.length}`);
    } else {
      rounds.push({ mm, mmImage, ...k, kept });
      console.log(`round ${i}: mmdebstrap ${sec(mm.wallMs)} (| docker import ${sec(mmImage.wallMs)}), kiln cold ${sec(k.cold.wallMs)} (stage 1 ${sec(k.cold.stage1)}, assembly ${sec(k.cold.assembly)}, first step ${sec(k.cold.firstStep)}), warm ${sec(k.warm.wallMs)}, B after A ${sec(k.plus.wallMs)} (assembly ${sec(k.plus.assembly)})${kept.length ? `; engine kept images in use: ${kept.join(' ')}` : ''}`);
    }
    rmSync(store, { recursive: true, force: true });
  }
  rmSync(mmTarget, { recursive: true, force: true });

  const m = (f: (r: Round) => number | undefined) => {
    const values = rounds.map(f).filter((v): v is number => v !== undefined);
    return values.length ? median(values) : undefined;
  };
  const mmWall = m((r) => r.mm.wallMs)!;
  const coldWall = m((r) => r.cold.wallMs)!;
  const row = (what: string, wall: number | undefined, rss: number | undefined, growth: string, note = '') =>
    console.log(`  ${what.padEnd(44)} ${sec(wall).padStart(8)} ${`${((rss ?? 0) / 1024).toFixed(0)} MiB`.padStart(9)} ${growth.padStart(10)}  ${note}`);
  console.log(`\nmedians of ${rounds.length} rounds (2 cores, shared):   wall     peak RSS   store growth`);
  row('mmdebstrap --variant=minbase (directory)', mmWall, m((r) => r.mm.rssKiB), mib(m((r) => r.mm.bytes)!), 'no cache: every run is cold');
  const mmImageWall = m((r) => r.mmImage.wallMs)!;
  row('mmdebstrap --format=tar | docker import', mmImageWall, undefined, '', 'what a Docker user of mmdebstrap runs for an image');
  row('kiln build A, cold (store: .debs only)', coldWall, m((r) => r.cold.rssKiB), mib(m((r) => r.coldGrowth)!), `${(coldWall / mmWall).toFixed(2)}× mmdebstrap, ${(coldWall / mmImageWall).toFixed(2)}× mmdebstrap | docker import`);
  row('  stage 1 (unpack .debs, merge the base)', m((r) => r.cold.stage1), undefined, '');
  row('  assembly step (dpkg in the sandbox)', m((r) => r.cold.assembly), undefined, '');
  row('  first step (image import + step)', m((r) => r.cold.firstStep), undefined, '');
  row('kiln build A, warm (no-op)', m((r) => r.warm.wallMs), m((r) => r.warm.rssKiB), mib(m((r) => r.warmGrowth)!));
  const plusWall = m((r) => r.plus.wallMs)!;
  row(`kiln build B = A + ${EXTRA}, after A`, plusWall, m((r) => r.plus.rssKiB), mib(m((r) => r.plusGrowth)!), `${(plusWall / coldWall).toFixed(2)}× cold A`);
  row('  assembly step', m((r) => r.plus.assembly), undefined, '');
  row('  first step (image import + step)', m((r) => r.plus.firstStep), undefined, '');
  if (existsSync(seed)) console.log(`\nseed store (.debs of B, not counted in growth): ${mib(du(seed))}`);
} finally {
  await cleanup();
}
