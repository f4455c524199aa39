// Fetch + verify + store of a large input (issue: kiln build).
//   node dist/bench/fetch-large.js [size-in-MiB, default 1024]
// Throughput against `openssl dgst -sha256` of the same file, and the fetching process's
// peak RSS (it must stay flat whatever the size). Both a `path` input and a `url` input
// served from 127.0.0.1 are measured, each in a fresh child process and a fresh store.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, repoRoot } from '../test/helpers/index.js';
import { fmt, median, timeCommand } from './util.js';

const MiB = 1 << 20;
const sizeMiB = Number(process.argv[2] ?? 1024);
const { dir, cleanup } = await makeTempDir('kiln-bench-fetch-');
try {
  const file = join(dir, 'big.bin');
  const hash = createHash('sha256');
  const ws = createWriteStream(file);
  const block = randomBytes(4 * MiB);
  for (let i = 0; i < sizeMiB / 4; i++) {
    block.writeUInt32LE(i, 0); // vary every block
    hash.update(block);
    if (!ws.write(block)) await new Promise<void>((r) => ws.once('drain', () => r()));
  }
  await new Promise<void>((r) => ws.end(r));
  const integrity = `sha256-${hash.digest('base64')}`;

  const openssl = median([0, 1, 2].map(() => timeCommand('openssl', ['dgst', '-sha256', file])));
  // The floor for any store: writing one copy of the bytes on this machine's disk/page cache.
  const copy = median([0, 1, 2].map((n) => timeCommand('cp', [file, join(dir, `copy-${n}.bin`)])));
  spawnSync('sh', ['-c', `rm -f ${join(dir, 'copy-')}*.bin`]);
  const child = join(repoRoot(), 'dist', 'bench', 'fetch-child.js');
  const results: Record<string, { ms: number; rssMiB: number }> = {};
  for (const kind of ['path', 'url']) {
    const runs = [0, 1, 2].map((n) => {
      const r = spawnSync(process.execPath, [child, kind, file, integrity, join(dir, `store-${kind}-${n}`)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      return JSON.parse(r.stdout) as { ms: number; rssMiB: number };
    });
    results[kind] = { ms: median(runs.map((r) => r.ms)), rssMiB: Math.max(...runs.map((r) => r.rssMiB)) };
  }
  const mbps = (ms: number) => `${((sizeMiB * MiB) / (ms / 1000) / 1e6).toFixed(0)} MB/s`;
  console.log(`${sizeMiB} MiB input, median of 3:`);
  console.log(`  openssl dgst -sha256       ${fmt(openssl)}  ${mbps(openssl)}`);
  console.log(`  cp (one copy, no hash)     ${fmt(copy)}  ${mbps(copy)}`);
  for (const [kind, r] of Object.entries(results)) {
    console.log(
      `  kiln fetch (${kind.padEnd(4)})        ${fmt(r.ms)}  ${mbps(r.ms)}  ${(openssl / r.ms).toFixed(2)}× openssl, ` +
        `${(Math.max(openssl, copy) / r.ms).toFixed(2)}× max(openssl, cp)  peak RSS ${r.rssMiB.toFixed(0)} MiB`,
    );
  }
} finally {
  await cleanup();
}
