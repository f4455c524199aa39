import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { HOST_BUSYBOX, packTar, type TarSpec } from './busybox.js';
import { readFileSync } from 'node:fs';

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

/** A recipe folder with a busybox rootfs input named `rootfs` and an image `base` made from it. */
export async function writeRecipe(dir: string, body: string, options: { rootfs?: boolean } = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  let head = `kiln: 1\nname: test\nsourceDateEpoch: 1700000000\n`;
  if (options.rootfs !== false) {
    const { file, integrity } = await writeBusyboxRootfs(dir);
    head += `images:\n  base: { rootfs: rootfs }\n`;
    body = body.replace(/^inputs:\n/m, `inputs:\n  rootfs: { path: ${file}, integrity: "${integrity}" }\n`);
    if (!/^inputs:/m.test(body)) body = `inputs:\n  rootfs: { path: ${file}, integrity: "${integrity}" }\n` + body;
  }
  const file = join(dir, 'kiln.yaml');
  await writeFile(file, head + body);
  return file;
}
