import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { HOST_BUSYBOX, packTar, type TarSpec } from './busybox.js';
import { existsSync, readFileSync } from 'node:fs';

/** SRI sha256 of bytes. */
export function sri(data: Buffer | string): string {
  return `sha256-${createHash('sha256').update(data).digest('base64')}`;
}

/**
 * Writes a busybox root filesystem tarball (every applet linked) into `dir` and returns its
 * file name and integrity, for recipes whose image is `{ rootfs: <input> }`.
 */
export async function writeBusyboxRootfs(dir: string, name = 'rootfs.tar'): Promise<{ file: string; integrity: string }> {
  const applets = execFileSync(HOST_BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox').sort();
  const entries: TarSpec[] = [
    { name: 'bin', type: 'dir' },
    { name: 'bin/busybox', type: 'file', content: readFileSync(HOST_BUSYBOX), mode: 0o755 },
    ...applets.map((a): TarSpec => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
    { name: 'etc', type: 'dir' },
    { name: 'etc/group', type: 'file', content: 'root:x:0:\nkiln:x:1000:\n' },
    { name: 'etc/passwd', type: 'file', content: 'root:x:0:0:root:/root:/bin/sh\nkiln:x:1000:1000::/kiln/work:/bin/sh\n' },
    { name: 'tmp', type: 'dir', mode: 0o1777 },
  ];
  const file = join(dir, name);
  await pipeline(packTar(entries), createWriteStream(file));
  return { file: name, integrity: sri(readFileSync(file)) };
}

/**
 * Writes a root filesystem tarball of this host's own dynamically linked programs (GNU
 * coreutils, dash, tar, gzip…) with the C library and loader they load, found with ldd: an
 * image where LD_PRELOAD works, unlike busybox-static's. Programs land in /bin by base name.
 */
export async function writeHostRootfs(dir: string, programs: string[] = HOST_PROGRAMS, name = 'rootfs.tar'): Promise<{ file: string; integrity: string }> {
  const files = new Map<string, Buffer>();
  const dirs = new Set<string>(['bin', 'etc', 'tmp']);
  const addFile = (path: string, from: string) => {
    files.set(path, readFileSync(from));
    for (let p = path.slice(0, path.lastIndexOf('/')); p !== ''; p = p.slice(0, Math.max(0, p.lastIndexOf('/')))) dirs.add(p);
  };
  for (const program of programs) {
    const host = ['/usr/bin', '/bin'].map((d) => join(d, program)).find((p) => existsSync(p));
    if (!host) throw new Error(`writeHostRootfs: no ${program} in /usr/bin or /bin`);
    addFile(`bin/${program}`, host);
    for (const line of execFileSync('ldd', [host], { encoding: 'utf8' }).split('\n')) {
      const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
      if (m) addFile(m[1]!.slice(1), m[1]!);
    }
  }
  const entries: TarSpec[] = [
    ...[...dirs].sort().map((d): TarSpec => ({ name: d, type: 'dir', ...(d === 'tmp' && { mode: 0o1777 }) })),
    ...[...files.keys()].sort().map((f): TarSpec => ({ name: f, type: 'file', content: files.get(f)!, mode: 0o755 })),
    { name: 'etc/group', type: 'file', content: 'root:x:0:\nkiln:x:1000:\n' },
    { name: 'etc/passwd', type: 'file', content: 'root:x:0:0:root:/root:/bin/sh\nkiln:x:1000:1000::/kiln/work:/bin/sh\n' },
  ];
  const file = join(dir, name);
  await pipeline(packTar(entries), createWriteStream(file));
  return { file: name, integrity: sri(readFileSync(file)) };
}

/** What a host rootfs holds by default: enough for the check corpus's scripts. */
export const HOST_PROGRAMS = ['sh', 'date', 'tar', 'gzip', 'cat', 'mkdir', 'touch', 'find', 'sort', 'id', 'cp', 'env', 'ls', 'stat', 'printf', 'rm'];

/** A recipe folder with a rootfs input named `rootfs` (busybox-static, or `host`: this host's glibc programs) and an image `base` made from it. */
export async function writeRecipe(dir: string, body: string, options: { rootfs?: boolean | 'host'; programs?: string[] } = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  let head = `kiln: 1\nname: test\nsourceDateEpoch: 1700000000\n`;
  if (options.rootfs !== false) {
    const { file, integrity } = options.rootfs === 'host' ? await writeHostRootfs(dir, options.programs) : await writeBusyboxRootfs(dir);
    head += `images:\n  base: { rootfs: rootfs }\n`;
    body = body.replace(/^inputs:\n/m, `inputs:\n  rootfs: { path: ${file}, integrity: "${integrity}" }\n`);
    if (!/^inputs:/m.test(body)) body = `inputs:\n  rootfs: { path: ${file}, integrity: "${integrity}" }\n` + body;
  }
  const file = join(dir, 'kiln.yaml');
  await writeFile(file, head + body);
  return file;
}
