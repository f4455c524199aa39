// Fetching a recipe's Debian packages (recipes/toolchain: ~186) from a `kiln vendor` folder
// against `apt-get download` of the same set from the machine's configured archive, side by
// side in one run; and the vendored folder's size against the sum of its blobs.
//
//   npm run build && node dist/bench/vendor.js
//
// BENCH_RUNS=N (default 3) runs of each fetch into a fresh store / folder; the median is shown.
// The lock is resolved afresh into a temp copy of the recipe (the committed lock may name
// versions the archive has dropped since). Needs the network to Debian's archive.
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveSources } from '../src/fetch/index.js';
import { fetchDebianPackages } from '../src/image/index.js';
import { loadBuildRecipe, lockRecipe } from '../src/lock/index.js';
import { createStore } from '../src/store/index.js';
import { vendorRecipe } from '../src/vendor/index.js';
import { startFileServer, writeAptConfig, deadUrl } from '../test/helpers/apt-repo.js';
import { fmt, median } from './util.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const root = new URL('../..', import.meta.url).pathname;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, value };
}

const dir = await mkdtemp(join(tmpdir(), 'kiln-bench-vendor-'));
try {
  const recipeDir = join(dir, 'toolchain');
  await mkdir(recipeDir);
  await copyFile(join(root, 'recipes', 'toolchain', 'kiln.yaml'), join(recipeDir, 'kiln.yaml'));
  await lockRecipe(recipeDir, { store: await createStore({ root: join(dir, 'store-lock') }) });
  const recipe = await loadBuildRecipe(recipeDir, { locked: true });
  const image = Object.values(recipe.images).find((i) => i.kind === 'debian');
  if (!image || image.kind !== 'debian') throw new Error('recipes/toolchain has no debian image');
  const pins = image.pins;
  const blobBytes = pins.reduce((n, p) => n + p.size, 0);
  console.log(`recipes/toolchain: ${pins.length} packages, ${(blobBytes / 1e6).toFixed(1)} MB of .debs\n`);

  // The peer: apt-get download of the same set, as a user would fetch them, into a fresh folder.
  const apt: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const into = join(dir, `apt-${i}`);
    await mkdir(into);
    const t0 = process.hrtime.bigint();
    const r = spawnSync('apt-get', ['download', '--', ...pins.map((p) => `${p.package}:${p.arch}=${p.version}`)], { cwd: into, stdio: ['ignore', 'ignore', 'pipe'] });
    apt.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`apt-get download failed: ${r.stderr}`);
    await rm(into, { recursive: true, force: true });
  }

  // kiln through apt (its upstream path): fills the store the vendored folder is made from.
  const aptStore = await createStore({ root: join(dir, 'store-apt') });
  const viaApt = await timed(() => fetchDebianPackages(aptStore, pins));

  const vendor = join(dir, 'vendor');
  const vendoring = await timed(() => vendorRecipe({ recipe: recipeDir, out: vendor, store: aptStore }));

  // kiln from the vendored folder, apt unreachable: a fresh store each run.
  const dead = await writeAptConfig(join(dir, 'dead-apt'), `deb [trusted=yes] ${await deadUrl()}debian bookworm main\n`);
  const saved = process.env.APT_CONFIG;
  process.env.APT_CONFIG = dead.APT_CONFIG;
  const fromFolder: number[] = [];
  const fromHttp: number[] = [];
  const server = await startFileServer(vendor);
  try {
    for (let i = 0; i < RUNS; i++) {
      const store = await createStore({ root: join(dir, `store-folder-${i}`) });
      fromFolder.push((await timed(() => fetchDebianPackages(store, pins, { sources: resolveSources({ mirrors: [`file://${vendor}`] }, {}) }))).ms);
      await rm(join(dir, `store-folder-${i}`), { recursive: true, force: true });
      const httpStore = await createStore({ root: join(dir, `store-http-${i}`) });
      fromHttp.push((await timed(() => fetchDebianPackages(httpStore, pins, { sources: resolveSources({ mirrors: [server.url] }, {}) }))).ms);
      await rm(join(dir, `store-http-${i}`), { recursive: true, force: true });
    }
  } finally {
    await server.close();
    if (saved === undefined) delete process.env.APT_CONFIG;
    else process.env.APT_CONFIG = saved;
  }

  const aptMs = median(apt);
  console.log('fetch of the same packages (median of', RUNS, 'runs):');
  console.log(`  apt-get download from the configured archive   ${fmt(aptMs)}`);
  console.log(`  kiln, store ← apt (one run)                     ${fmt(viaApt.ms)}`);
  console.log(`  kiln, store ← file: vendored folder (apt dead)  ${fmt(median(fromFolder))}  (${(median(fromFolder) / aptMs).toFixed(2)}× apt-get download)`);
  console.log(`  kiln, store ← HTTP mirror on 127.0.0.1          ${fmt(median(fromHttp))}  (${(median(fromHttp) / aptMs).toFixed(2)}× apt-get download)`);
  console.log(`  kiln vendor (store → folder, one run)           ${fmt(vendoring.ms)}`);

  // What writing one copy of the folder costs on this disk (any store pays it).
  const cpMs = median(await Promise.all([0].map(async () => {
    const t0 = process.hrtime.bigint();
    spawnSync('cp', ['-r', join(vendor, 'cas'), join(dir, 'cp-copy')]);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    await rm(join(dir, 'cp-copy'), { recursive: true, force: true });
    return ms;
  })));
  console.log(`  cp -r of the folder's cas/ (one copy, reference)  ${fmt(cpMs)}`);

  const cas = join(vendor, 'cas');
  let casBytes = 0;
  const names = await readdir(cas);
  for (const name of names) casBytes += (await stat(join(cas, name))).size;
  const indexBytes = (await stat(join(vendor, 'index.json'))).size;
  const top = await readdir(vendor);
  const du = spawnSync('du', ['-sb', vendor], { encoding: 'utf8' }).stdout.split('\t')[0];
  const duBlocks = spawnSync('du', ['-s', '--block-size=1', vendor], { encoding: 'utf8' }).stdout.split('\t')[0];
  console.log('\nvendored folder:');
  console.log(`  entries at the top: ${top.sort().join(', ')}; ${names.length} blobs`);
  console.log(`  sum of the pins' sizes ${blobBytes} B; cas/ ${casBytes} B; index.json ${indexBytes} B (${(indexBytes / casBytes * 100).toFixed(3)}%)`);
  console.log(`  du -sb (apparent, with folders) ${du} B; on disk ${duBlocks} B`);
  JSON.parse(await readFile(join(vendor, 'index.json'), 'utf8'));
} finally {
  await rm(dir, { recursive: true, force: true });
}
