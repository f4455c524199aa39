import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

type Entry = { name: string; content?: string; mode?: number; dir?: boolean };

export async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) {
    if (e.dir) p.entry({ name: e.name, type: 'directory', mode: 0o755, mtime: new Date(0) });
    else p.entry({ name: e.name, mode: e.mode ?? 0o644, mtime: new Date(0) }, e.content ?? '');
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of p) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface SourcePackage {
  dir: string;
  dsc: string;
  dscUrl: string;
  dscText: string;
  files: Record<string, Buffer>;
}

/**
 * A tiny 3.0 (quilt) source package `hello=1.0-1` written to `dir`: an orig.tar.gz with one
 * top folder (including an upstream debian/ that dpkg-source drops), a debian.tar.xz, and a
 * .dsc whose Checksums-Sha256 lists both. No patches, so `dpkg-source -x` gives the same tree.
 */
export async function writeSourcePackage(dir: string): Promise<SourcePackage> {
  const orig = gzipSync(
    await tarOf([
      { name: 'hello-1.0/', dir: true },
      { name: 'hello-1.0/hello.c', content: 'int main(void) { return 0; }\n' },
      { name: 'hello-1.0/configure', content: '#!/bin/sh\necho ok\n', mode: 0o755 },
      { name: 'hello-1.0/debian/', dir: true },
      { name: 'hello-1.0/debian/old-upstream-file', content: 'dropped\n' },
    ]),
  );
  const debianTar = await tarOf([
    { name: 'debian/', dir: true },
    { name: 'debian/control', content: 'Source: hello\n' },
    { name: 'debian/rules', content: '#!/usr/bin/make -f\n', mode: 0o755 },
    { name: 'debian/source/', dir: true },
    { name: 'debian/source/format', content: '3.0 (quilt)\n' },
  ]);
  const debian = execFileSync('xz', ['-c'], { input: debianTar });
  const files: Record<string, Buffer> = { 'hello_1.0.orig.tar.gz': orig, 'hello_1.0-1.debian.tar.xz': debian };
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes);
  const sums = Object.entries(files).map(([name, b]) => ` ${createHash('sha256').update(b).digest('hex')} ${b.length} ${name}`);
  const md5 = Object.entries(files).map(([name, b]) => ` ${createHash('md5').update(b).digest('hex')} ${b.length} ${name}`);
  const dscText = ['Format: 3.0 (quilt)', 'Source: hello', 'Binary: hello', 'Architecture: any', 'Version: 1.0-1', 'Maintainer: T <t@example.org>', 'Checksums-Sha256:', ...sums, 'Files:', ...md5, ''].join('\n');
  const dsc = join(dir, 'hello_1.0-1.dsc');
  await writeFile(dsc, dscText);
  return { dir, dsc, dscUrl: `file://${dsc}`, dscText, files };
}
