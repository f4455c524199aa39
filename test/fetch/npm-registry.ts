import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { startServer, type TestServer } from './support.js';

/** A package tarball as npm publishes one: package/package.json, gzipped. */
export async function npmTarball(name: string, version: string): Promise<Buffer> {
  const p = pack();
  p.entry({ name: 'package/package.json', mode: 0o644, mtime: new Date(0) }, JSON.stringify({ name, version }));
  p.entry({ name: 'package/index.js', mode: 0o644, mtime: new Date(0) }, `module.exports = ${JSON.stringify(version)};\n`);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of p) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

export interface FakeRegistry extends TestServer {
  /** The registry's dist.integrity of each version. */
  integrity: Record<string, string>;
}

/**
 * A tiny npm registry on 127.0.0.1 serving one package's packument and tarballs. `lie`: the
 * packument's integrity for that version is wrong (a tampered registry answer).
 */
export async function startNpmRegistry(name: string, versions: string[], options: { lie?: string } = {}): Promise<FakeRegistry> {
  const tarballs = new Map<string, Buffer>();
  for (const v of versions) tarballs.set(v, await npmTarball(name, v));
  const integrity: Record<string, string> = {};
  let base = '';
  const routes: Record<string, Parameters<typeof startServer>[0][string]> = {};
  const file = (v: string) => `/${name}/-/${name.split('/').pop()}-${v}.tgz`;
  routes[`/${name.replace('/', '%2f')}`] = (_req, res) => {
    const packument = {
      name,
      'dist-tags': { latest: versions.at(-1) },
      versions: Object.fromEntries(
        versions.map((v) => [v, { name, version: v, dist: { tarball: `${base}${file(v)}`, integrity: integrity[v], shasum: createHash('sha1').update(tarballs.get(v)!).digest('hex') } }]),
      ),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(packument));
  };
  for (const v of versions) {
    const bytes = tarballs.get(v)!;
    integrity[v] = `sha512-${createHash('sha512').update(options.lie === v ? Buffer.from('lie') : bytes).digest('base64')}`;
    routes[file(v)] = (_req, res) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes);
  }
  const server = await startServer(routes);
  base = server.url;
  return { ...server, integrity };
}

/** Points the npm client of this process's children at `registry`, with a private cache and no user config. */
export function useRegistry(registry: string, dir: string): () => void {
  const keys = ['npm_config_registry', 'npm_config_cache', 'npm_config_userconfig', 'npm_config_fetch_retries'] as const;
  const saved = keys.map((k) => process.env[k]);
  process.env.npm_config_registry = `${registry}/`;
  process.env.npm_config_cache = `${dir}/npm-cache`;
  process.env.npm_config_userconfig = `${dir}/npmrc-none`;
  // npm retries a failed integrity check with back-off (tens of seconds): once is enough here.
  process.env.npm_config_fetch_retries = '0';
  return () => keys.forEach((k, i) => (saved[i] === undefined ? delete process.env[k] : (process.env[k] = saved[i])));
}
