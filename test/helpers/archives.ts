import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { crc32, gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';

/** A tar member for `buildTar`: a tar-stream header plus an optional body. */
export type TarSpec = Partial<tar.Header> & { name: string; body?: string | Buffer };

/** Builds a tar in memory with tar-stream, exactly as described: hostile entries included. */
export async function buildTar(members: TarSpec[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const { body, ...header } of members) {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body === undefined) pack.entry({ mtime: new Date(0), ...header }, done);
      else pack.entry({ mtime: new Date(0), ...header }, body, done);
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

export function gzip(data: Buffer): Buffer {
  return gzipSync(data);
}

/** Compresses with a command-line tool (`xz -c`, `bzip2 -c`, `zstd -c`), with `args` before `-c`. */
export async function compressWith(command: string, data: Buffer, args: string[] = []): Promise<Buffer> {
  const child = spawn(command, [...args, '-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  const closed = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  child.stdin.end(data);
  const code = await closed;
  if (code !== 0) throw new Error(`${command} -c exited with ${code}`);
  return Buffer.concat(chunks);
}

export interface ZipSpec {
  name: string;
  body?: string | Buffer;
  /** A Unix st_mode (with type bits) stored in the external attributes; omitted: a DOS entry. */
  unixMode?: number;
}

/** A minimal zip writer (stored entries only, PKWARE APPNOTE §4.3): enough to build hostile zips. */
export function buildZip(entries: ZipSpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const data = entry.body === undefined ? Buffer.alloc(0) : Buffer.from(entry.body);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, data);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(entry.unixMode === undefined ? 20 : (3 << 8) | 20, 4); // made by: Unix when a mode is given
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(entry.unixMode === undefined ? 0 : (entry.unixMode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

/** An ar archive (the .deb container): global magic, then 60-byte headers, even-aligned members. */
export function buildAr(members: Array<{ name: string; body: Buffer | string }>): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n')];
  for (const member of members) {
    const body = Buffer.from(member.body);
    const field = (text: string, width: number) => text.padEnd(width, ' ');
    const header =
      field(member.name, 16) + field('0', 12) + field('0', 6) + field('0', 6) + field('100644', 8) + field(String(body.length), 10) + '`\n';
    parts.push(Buffer.from(header, 'latin1'), body);
    if (body.length % 2 === 1) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** A .deb: debian-binary, a control tar (`control.tar.gz` holding `./control`) and the payload member `data.tar<ext>`. */
export async function buildDeb(payload: Buffer, dataName = 'data.tar.gz', control: { text?: string; member?: Buffer; name?: string } = {}): Promise<Buffer> {
  const member = control.member ?? gzip(await buildTar([{ name: './control', body: control.text ?? 'Package: test\nVersion: 1\n' }]));
  return buildAr([
    { name: 'debian-binary', body: '2.0\n' },
    { name: control.name ?? 'control.tar.gz', body: member },
    { name: dataName, body: payload },
  ]);
}

/** Names in the OS temp folder starting with `prefix`: tests check that spills are removed. */
export async function tempEntries(prefix: string): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith(prefix)).sort();
}

/** One tar header block written by hand, for layouts tar-stream does not write (v7, GNU, odd fields). */
export interface RawTarHeader {
  name: string;
  size?: number;
  /** '0' by default. */
  typeflag?: string;
  mode?: number;
  mtime?: number;
  linkname?: string;
  /** `ustar` (POSIX, the default), `gnu` (`ustar  \0`) or `v7` (no magic, no owner names). */
  magic?: 'ustar' | 'gnu' | 'v7';
  prefix?: string;
}

export function tarHeader(h: RawTarHeader): Buffer {
  const block = Buffer.alloc(512);
  const octal = (value: number, at: number, width: number) => block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, at, 'latin1');
  block.write(h.name, 0, 100, 'utf8');
  octal(h.mode ?? 0o644, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(h.size ?? 0, 124, 12);
  octal(h.mtime ?? 1_416_139_200, 136, 12);
  block.write(h.typeflag ?? '0', 156, 'latin1');
  if (h.linkname !== undefined) block.write(h.linkname, 157, 100, 'utf8');
  const magic = h.magic ?? 'ustar';
  if (magic === 'ustar') block.write('ustar\x0000', 257, 'latin1');
  if (magic === 'gnu') block.write('ustar  \0', 257, 'latin1');
  if (h.prefix !== undefined) block.write(h.prefix, 345, 155, 'utf8');
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

/** A header and its body, padded to the next 512-byte block. */
export function tarMember(h: RawTarHeader, body: Buffer | string = Buffer.alloc(0)): Buffer {
  const data = Buffer.from(body);
  return Buffer.concat([tarHeader({ size: data.length, ...h }), data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/** pax records "<length> <key>=<value>\n" (the length counts the whole record). */
export function paxRecords(records: Record<string, string>): Buffer {
  return Buffer.concat(
    Object.entries(records).map(([key, value]) => {
      const rest = ` ${key}=${value}\n`;
      let length = Buffer.byteLength(rest) + 1;
      while (String(length).length + Buffer.byteLength(rest) !== length) length++;
      return Buffer.from(`${length}${rest}`);
    }),
  );
}

/** The end of a tar: two zero blocks. */
export const TAR_END = Buffer.alloc(1024);

/** A pre-POSIX (v7) tar, as automake's `make dist` writes: a folder and one file, no `ustar` magic. */
export function buildV7Tar(files: Record<string, string> = { 'hello-2.10/README': 'Hello, world!\n' }, options: { mtime?: number } = {}): Buffer {
  const folders = [...new Set(Object.keys(files).map((f) => f.slice(0, f.lastIndexOf('/') + 1)).filter((d) => d !== ''))];
  const { mtime } = options;
  return Buffer.concat([
    ...folders.map((d) => tarMember({ name: d, typeflag: '5', mode: 0o755, magic: 'v7', mtime })),
    ...Object.entries(files).map(([name, body]) => tarMember({ name, magic: 'v7', mtime }, body)),
    TAR_END,
  ]);
}
