import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

// A Debian archive on 127.0.0.1, built at test time with Debian's own tools (dpkg-deb,
// dpkg-scanpackages from dpkg-dev, apt-ftparchive from apt-utils; scripts/setup-host.sh installs
// them), with the layout of the real one: `<archive>/pool/main/<letter>/<package>/…deb` and
// `<archive>/dists/<suite>/…`. Two archives, as Debian has: `debian` (suite stable) and
// `debian-security` (suite stable-security). apt is pointed at it through APT_CONFIG for the
// test process's children only; the machine's apt configuration is untouched.

export interface TestDeb {
  package: string;
  version: string;
  /** Default `debian`; `debian-security` for updates that live in the security archive. */
  archive?: 'debian' | 'debian-security';
  /** `required` makes it part of the minbase set a debian image resolves. */
  priority?: 'required' | 'optional';
}

const SUITES = { debian: 'stable', 'debian-security': 'stable-security' } as const;

export interface LocalArchive {
  /** `http://127.0.0.1:<port>/`: the server's base (archives below it). */
  url: string;
  /** Folder the server serves. */
  root: string;
  /** APT_CONFIG for apt pointed at this archive. */
  env: { APT_CONFIG: string };
  /** Requests seen, by path. */
  hits: string[];
  /** Replaces the archive's content with exactly these packages (old files gone), then runs apt-get update. */
  publish(debs: TestDeb[]): Promise<void>;
  close(): Promise<void>;
}

export async function run(command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, LC_ALL: 'C', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${err.trim().slice(-2000)}`))));
  });
}

/** A tiny binary package: one file, /usr/share/kiln-test/<package>, holding its name and version. */
export async function makeDeb(dir: string, deb: TestDeb): Promise<string> {
  const root = join(dir, `${deb.package}_${deb.version}`);
  await mkdir(join(root, 'DEBIAN'), { recursive: true });
  await mkdir(join(root, 'usr', 'share', 'kiln-test'), { recursive: true });
  await writeFile(join(root, 'usr', 'share', 'kiln-test', deb.package), `${deb.package} ${deb.version}\n`);
  await writeFile(
    join(root, 'DEBIAN', 'control'),
    `Package: ${deb.package}\nVersion: ${deb.version}\nArchitecture: amd64\nMaintainer: kiln tests <kiln@example.org>\nPriority: ${deb.priority ?? 'optional'}\nSection: misc\nDescription: kiln test package\n a package made by kiln's tests\n`,
  );
  const file = join(dir, `${deb.package}_${deb.version.replace(/^\d+:/, '')}_amd64.deb`);
  // The same package and version always gives the same bytes (an archive never rebuilds a version).
  await run('touch', ['-h', '-d', '@1700000000', ...(await run('find', [root])).trim().split('\n')]);
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, file], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
  await rm(root, { recursive: true, force: true });
  return file;
}

/** Serves `root` read-only; anything outside it or absent is a 404. */
function serve(root: string, hits: string[]): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    hits.push(path);
    const file = normalize(join(root, path));
    if (!file.startsWith(root)) return void res.writeHead(404).end();
    stat(file).then(
      (info) => {
        if (!info.isFile()) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-length': info.size });
        createReadStream(file).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
}

export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** A static file server of `root` on 127.0.0.1 (a mirror's `cas/<hex>` layout, for one). */
export async function startFileServer(root: string): Promise<{ url: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server = serve(root, hits);
  const url = await listen(server);
  return { url, hits, close: () => closeServer(server) };
}

/** apt's configuration for a private state: nothing of the host's sources, lists or caches. */
export async function writeAptConfig(dir: string, sources: string): Promise<{ APT_CONFIG: string }> {
  for (const d of ['sources.list.d', 'apt.conf.d', 'preferences.d', 'state/lists/partial', 'cache/archives/partial']) await mkdir(join(dir, d), { recursive: true });
  await writeFile(join(dir, 'sources.list'), sources);
  await writeFile(join(dir, 'state', 'status'), '');
  const conf = join(dir, 'apt.conf');
  await writeFile(
    conf,
    [
      `Dir::Etc::SourceList "${dir}/sources.list";`,
      `Dir::Etc::SourceParts "${dir}/sources.list.d";`,
      `Dir::Etc::Parts "${dir}/apt.conf.d";`,
      `Dir::Etc::Preferences "${dir}/preferences";`,
      `Dir::Etc::PreferencesParts "${dir}/preferences.d";`,
      `Dir::State "${dir}/state";`,
      `Dir::State::Lists "${dir}/state/lists";`,
      `Dir::State::status "${dir}/state/status";`,
      `Dir::Cache "${dir}/cache";`,
      'Debug::NoLocking "1";',
      'APT::Architecture "amd64";',
      'APT::Architectures { "amd64"; };',
      'APT::Sandbox::User "root";',
      'Acquire::Languages "none";',
      'Acquire::Retries "0";',
      'Acquire::http::Timeout "5";',
      '',
    ].join('\n'),
  );
  return { APT_CONFIG: conf };
}

/** A local archive serving `debs` (see the file's comment); `dir` must be fresh. */
export async function startLocalArchive(dir: string, debs: TestDeb[]): Promise<LocalArchive> {
  const root = join(dir, 'archive');
  await mkdir(root, { recursive: true });
  const hits: string[] = [];
  const server = serve(root, hits);
  const url = await listen(server);
  const env = await writeAptConfig(
    join(dir, 'apt'),
    `deb [trusted=yes] ${url}debian stable main\ndeb [trusted=yes] ${url}debian-security stable-security main\n`,
  );
  const archive: LocalArchive = {
    url,
    root,
    env,
    hits,
    async publish(list) {
      const work = join(dir, `build-${Date.now()}-${Math.random().toString(16).slice(2)}`);
      for (const name of ['debian', 'debian-security'] as const) {
        const suite = SUITES[name];
        const top = join(work, name);
        const binary = join(top, 'dists', suite, 'main', 'binary-amd64');
        await mkdir(binary, { recursive: true });
        for (const deb of list.filter((d) => (d.archive ?? 'debian') === name)) {
          const pool = join(top, 'pool', 'main', deb.package[0]!, deb.package);
          await mkdir(pool, { recursive: true });
          await makeDeb(pool, deb);
        }
        await mkdir(join(top, 'pool'), { recursive: true });
        const packages = await run('dpkg-scanpackages', ['--multiversion', 'pool', '/dev/null'], { cwd: top });
        await writeFile(join(binary, 'Packages'), packages);
        const release = await run('apt-ftparchive', [
          '-o', `APT::FTPArchive::Release::Suite=${suite}`,
          '-o', `APT::FTPArchive::Release::Codename=${suite}`,
          '-o', 'APT::FTPArchive::Release::Architectures=amd64',
          '-o', 'APT::FTPArchive::Release::Components=main',
          'release', join('dists', suite),
        ], { cwd: top });
        await writeFile(join(top, 'dists', suite, 'Release'), release);
      }
      // The archive moves at once: the old files are gone, as when Debian supersedes a version.
      for (const name of ['debian', 'debian-security']) {
        await rm(join(root, name), { recursive: true, force: true });
        await rename(join(work, name), join(root, name));
      }
      await rm(work, { recursive: true, force: true });
      await run('apt-get', ['update', '-qq'], { env });
    },
    close: () => closeServer(server),
  };
  await archive.publish(debs);
  return archive;
}

/**
 * A server with the URL layout of Debian's snapshot service: `/archive/<name>/<stamp>/<path>`
 * answers from the newest import at or before `<stamp>` (404 before the first).
 */
export async function startSnapshotService(imports: { stamp: string; archives: Record<string, string> }[]): Promise<{ url: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    hits.push(path);
    const m = /^\/archive\/([a-z0-9._-]+)\/(\d{8}T\d{6}Z)\/(.+)$/.exec(path);
    const found = m && [...imports].sort((a, b) => (a.stamp < b.stamp ? 1 : -1)).find((i) => i.stamp <= m[2]! && i.archives[m[1]!] !== undefined);
    if (!m || !found) return void res.writeHead(404).end();
    const base = found.archives[m[1]!]!;
    const file = normalize(join(base, m[3]!));
    if (!file.startsWith(base)) return void res.writeHead(404).end();
    stat(file).then(
      (info) => {
        if (!info.isFile()) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-length': info.size });
        createReadStream(file).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  const url = await listen(server);
  return { url, hits, close: () => closeServer(server) };
}

/** A server that answers every request with these bytes: a mirror gone bad. */
export async function startLyingServer(body: Buffer | string): Promise<{ url: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(200).end(body);
  });
  const url = await listen(server);
  return { url, hits, close: () => closeServer(server) };
}

/** A port on 127.0.0.1 where nothing listens (bound, then closed). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  const url = await listen(server);
  await closeServer(server);
  return url;
}
