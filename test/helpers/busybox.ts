import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { KILN_OUT_DIR, scratchMounts } from '../../src/plan/index.js';
import type { EngineAction, SandboxProfile } from '../../src/sandbox/types.js';
import type { Store } from '../../src/store/index.js';
import type { Digest } from '../../src/util/digest.js';

/** Debian's busybox-static puts a static busybox here (installed on dev machines and in CI). */
export const HOST_BUSYBOX = '/bin/busybox';

/** Applets linked in the test rootfs: what the sandbox tests' scripts call. */
const APPLETS = [
  'sh', 'ash', 'cat', 'chmod', 'chown', 'cp', 'echo', 'env', 'false', 'grep', 'head', 'hostname', 'id', 'ln',
  'ls', 'mkdir', 'mv', 'nslookup', 'printf', 'rm', 'sed', 'seq', 'sleep', 'stat', 'tail', 'tar', 'test', 'touch',
  'timeout', 'tr', 'true', 'uname', 'wc', 'wget', 'dd', 'yes', 'sort', 'nc',
];

/** One entry of a tar built in a test; mtime is fixed so equal specs give equal bytes. */
export type TarSpec =
  | { name: string; type: 'dir'; mode?: number; uid?: number; gid?: number }
  | { name: string; type: 'file'; content: string | Buffer; mode?: number; uid?: number; gid?: number }
  | { name: string; type: 'symlink'; linkname: string };

/** A tar stream of `entries`, in the given order, as a Node Readable. */
export function packTar(entries: TarSpec[]): Readable {
  const pack = tar.pack();
  const mtime = new Date(0);
  for (const e of entries) {
    switch (e.type) {
      case 'dir':
        pack.entry({ name: e.name, type: 'directory', mode: e.mode ?? 0o755, uid: e.uid ?? 0, gid: e.gid ?? 0, mtime });
        break;
      case 'file':
        pack.entry({ name: e.name, type: 'file', mode: e.mode ?? 0o644, uid: e.uid ?? 0, gid: e.gid ?? 0, mtime }, e.content);
        break;
      case 'symlink':
        pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname, mode: 0o777, mtime });
        break;
    }
  }
  pack.finalize();
  // tar-stream v3 streams are streamx streams: wrap so callers get a real node:stream Readable.
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

let busyboxBinary: Buffer | undefined;

function busyboxEntries(): TarSpec[] {
  busyboxBinary ??= readFileSync(HOST_BUSYBOX);
  return [
    { name: 'bin', type: 'dir' },
    { name: 'bin/busybox', type: 'file', content: busyboxBinary, mode: 0o755 },
    ...APPLETS.map((a): TarSpec => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
    { name: 'etc', type: 'dir' },
    { name: 'etc/group', type: 'file', content: 'root:x:0:\n' },
    { name: 'etc/passwd', type: 'file', content: 'root:x:0:0:root:/root:/bin/sh\n' },
    { name: 'root', type: 'dir', mode: 0o700 },
    { name: 'tmp', type: 'dir', mode: 0o1777 },
  ];
}

/** A minimal rootfs: a static busybox with its common applets, /etc/passwd with root, /tmp 1777. */
export function busyboxRootfsTar(): Readable {
  return packTar(busyboxEntries());
}

let busyboxTar: Promise<{ bytes: Buffer; digest: Digest }> | undefined;

/** The rootfs tar's bytes (2 MB) and their sha256, which stands in for a tree digest. */
export function busyboxRootfs(): Promise<{ bytes: Buffer; digest: Digest }> {
  busyboxTar ??= (async () => {
    const chunks: Buffer[] = [];
    for await (const c of busyboxRootfsTar()) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    return { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest };
  })();
  return busyboxTar;
}

/** The busybox rootfs as a kiln tree in `store`: what a rootfs input becomes. */
export async function busyboxTree(store: Store): Promise<Digest> {
  const { ingestTar } = await import('../../src/archive/index.js');
  return (await ingestTar(store, busyboxRootfsTar(), { label: 'busybox', links: 'any' })).digest;
}

/**
 * The action the sandbox tests run, as the planner lays one out: the busybox image,
 * /kiln/inputs/x (root, read-only, "input x"), the working directory and /kiln/out owned by
 * 1000:1000, /tmp 1777; `script` after the profile's umask line; the profile's limits.
 */
export async function sandboxAction(store: Store, profile: SandboxProfile, script: string, extra: Partial<EngineAction> = {}): Promise<EngineAction> {
  const x = await store.putBytes('input x\n');
  return {
    label: 'test',
    image: { kind: 'tree', tree: await busyboxTree(store) },
    argv: ['/bin/sh', '-e', '-c', `umask ${profile.umask}\n${script}`],
    env: { ...profile.env, KILN_OUT: KILN_OUT_DIR, SOURCE_DATE_EPOCH: '1700000000' },
    user: { uid: 1000, gid: 1000 },
    workdir: profile.workdir,
    hostname: profile.hostname,
    domainname: profile.domainname,
    mounts: [{ path: '/kiln/inputs/x', source: { kind: 'file', digest: x.digest, size: x.size, executable: false }, writable: false, owner: 'root' }, ...scratchMounts(profile.workdir)],
    outputPath: KILN_OUT_DIR,
    limits: { ...profile.limits },
    mtime: 1700000000,
    ...extra,
  };
}

/** True when the test run excludes Docker (`npm run test:unit`). */
export const NO_DOCKER = process.env.KILN_TEST_NO_DOCKER === '1';
