import { spawnSync, type SpawnSyncOptions } from 'node:child_process';

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
