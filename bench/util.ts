import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Store, TreeEntry } from '../src/store/index.js';

/** Wall time of one command in ms (throws if it fails). */
export function timeCommand(cmd: string, args: string[], options: SpawnSyncOptions = {}): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

/**
 * A toolchain-like tree of random files put into the store: 2,000 files, 8 of 5 MiB and the
 * rest small, `mib` MiB in all. What the REAPI benches upload twice.
 */
export async function putLargeTree(store: Store, mib: number): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  const files = 2000;
  const big = 8;
  const bigBytes = 5 * 1024 * 1024;
  const smallBytes = Math.max(1, Math.floor((mib * 1024 * 1024 - big * bigBytes) / (files - big)));
  for (let i = 0; i < files; i++) {
    const put = await store.putBytes(randomBytes(i < big ? bigBytes : smallBytes));
    entries.push({ path: `lib/f${String(i).padStart(4, '0')}`, type: 'file', mode: 0o644, digest: put.digest, size: put.size });
  }
  return entries;
}
