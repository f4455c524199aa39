import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InputLayer } from '../../src/reapi/index.js';
import { ingestTar } from '../../src/archive/index.js';
import type { Store } from '../../src/store/index.js';
import { busyboxRootfsTar } from '../helpers/busybox.js';
import { repoRoot } from '../helpers/index.js';

/** The local Buildbarn cluster's endpoints (scripts/buildbarn.sh env). */
export interface Cluster {
  endpoint: string;
  tlsEndpoint: string;
  tlsCa: string;
  schedulerAdmin: string;
}

/** What kiln's test cluster's workers advertise (scripts/buildbarn/common.libsonnet). */
export const PLATFORM = { OSFamily: 'linux' };

let cluster: Cluster | undefined;

/**
 * Starts the cluster unless it runs (the first time this builds Buildbarn: minutes); CI starts it
 * in .ci/run. It stays up after the tests: `scripts/buildbarn.sh stop` ends it.
 */
export function ensureCluster(): Cluster {
  if (cluster) return cluster;
  const script = join(repoRoot(), 'scripts', 'buildbarn.sh');
  const start = spawnSync('bash', [script, 'start'], { encoding: 'utf8', timeout: 30 * 60_000 });
  if (start.status !== 0) throw new Error(`scripts/buildbarn.sh start failed:\n${start.stderr}`);
  const env = spawnSync('bash', [script, 'env'], { encoding: 'utf8' });
  const vars = Object.fromEntries(env.stdout.trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
  cluster = {
    endpoint: vars.KILN_BB_ENDPOINT!,
    tlsEndpoint: vars.KILN_BB_TLS_ENDPOINT!,
    tlsCa: vars.KILN_BB_TLS_CA!,
    schedulerAdmin: vars.KILN_BB_SCHEDULER_ADMIN!,
  };
  return cluster;
}

/**
 * A busybox image tree as an input root: the test rootfs at `/`, `/usr/bin/env` (Buildbarn's
 * chrooting runner execs the command through it), empty `kiln/work` and `kiln/out`, and `extra`.
 */
export async function busyboxLayers(store: Store, extra: InputLayer[] = []): Promise<InputLayer[]> {
  const image = await ingestTar(store, busyboxRootfsTar(), { label: 'busybox', links: 'any' });
  return [
    { prefix: '', source: { kind: 'tree', manifest: image.manifest } },
    { prefix: 'usr/bin', source: { kind: 'tree', manifest: { kiln: 'tree/v1', entries: [{ path: 'env', type: 'symlink', target: '/bin/busybox' }] } } },
    { prefix: 'kiln/work', source: { kind: 'dir', mode: 0o755 } },
    { prefix: 'kiln/out', source: { kind: 'dir', mode: 0o755 } },
    ...extra,
  ];
}

/** The Command of a shell script run in kiln/work with kiln's fixed environment, output ../out. */
export function shellCommand(script: string) {
  return {
    arguments: ['/bin/sh', '-c', script],
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/kiln/work', TZ: 'UTC', LANG: 'C', LC_ALL: 'C', KILN_OUT: '/kiln/out' },
    workingDirectory: 'kiln/work',
    outputPaths: ['../out'],
  };
}

/** A cluster of a test's own, for tests that break it (kill a worker): never the shared one. */
export interface DedicatedCluster {
  endpoint: string;
  /** Its state folder: pids in `pids/<name>.pid`, each worker's build folder in `worker-<n>/build`. */
  state: string;
  /** The pid of `worker-1`, `runner-2`, `scheduler`…, as `scripts/buildbarn.sh start` recorded it. */
  pid(name: string): number;
  stop(): void;
}

/**
 * Starts a second cluster on free ports below the ephemeral range, with its state in a folder of
 * its own; `stop()` ends it (by the pids it recorded) and removes the folder.
 */
export function startDedicatedCluster(): DedicatedCluster {
  const script = join(repoRoot(), 'scripts', 'buildbarn.sh');
  let failure = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const base = 20000 + 10 * Math.floor(Math.random() * 1000);
    const env = { ...process.env, KILN_BB_PORT_BASE: String(base), KILN_BB_STATE: join(tmpdir(), `kiln-buildbarn-test-${base}-${process.pid}`) };
    const start = spawnSync('bash', [script, 'start'], { encoding: 'utf8', env, timeout: 30 * 60_000 });
    if (start.status !== 0) {
      // A port taken between the script's check and the bind (another session's cluster) is
      // one cause; a failed start stops what it started, so the next try starts clean.
      failure = `scripts/buildbarn.sh start (port base ${base}) failed:\n${start.stderr}`;
      process.stderr.write(`${failure}\n(trying other ports)\n`);
      continue;
    }
    const state = env.KILN_BB_STATE;
    return {
      endpoint: `grpc://127.0.0.1:${base}`,
      state,
      pid: (name) => Number(readFileSync(join(state, 'pids', `${name}.pid`), 'utf8').trim()),
      stop: () => {
        spawnSync('bash', [script, 'stop'], { encoding: 'utf8', env });
      },
    };
  }
  throw new Error(`no dedicated Buildbarn cluster after 5 tries; the last: ${failure}`);
}
