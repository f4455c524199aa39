import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NpmInputSpec } from '../recipe/types.js';
import type { Store } from '../store/types.js';
import { inputError } from './errors.js';
import { storeToolDownload, type Fetched } from './fetched.js';
import { runTool, tail, type ToolResult } from './run.js';
import type { FetchOptions } from './types.js';

/**
 * The package URL of an npm package (purl spec, type npm): the scope's `@` is encoded.
 * Example: npmPurl('@types/node', '20.1.0') → 'pkg:npm/%40types/node@20.1.0'
 */
export function npmPurl(pkg: string, version: string): string {
  const slash = pkg.indexOf('/');
  const name = slash === -1 ? encodeURIComponent(pkg) : `${encodeURIComponent(pkg.slice(0, slash))}/${encodeURIComponent(pkg.slice(slash + 1))}`;
  return `pkg:npm/${name}@${encodeURIComponent(version)}`;
}

/** What the registry says about one exact version: recorded in kiln.lock. */
export interface NpmResolution {
  package: string;
  version: string;
  /** `dist.tarball`, as the user's registry reports it. */
  tarball: string;
  /** `dist.integrity` (SRI, usually sha512). */
  integrity: string;
}

// Checked so that nothing reaches npm's command line that it could read as an option.
const NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9_][a-z0-9._~-]*$/;
const SPEC = /^[^\s@-][^\s@]*$/;

/** Env that keeps npm quiet and non-interactive; the user's registry, auth and proxy settings stay. */
const NPM_ENV = { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_yes: 'false' };

type Target = Pick<NpmInputSpec, 'name' | 'package' | 'version' | 'where'> & Partial<NpmInputSpec>;

function assertTarget(spec: Target): string {
  if (!NAME.test(spec.package) || !SPEC.test(spec.version)) {
    throw inputError(spec as NpmInputSpec, 'KILN_FETCH_UNSUPPORTED', `not an npm package reference: ${spec.package}@${spec.version}`);
  }
  return `${spec.package}@${spec.version}`;
}

function npmFailed(spec: Target, what: string, result: ToolResult) {
  const detail = result.error ? result.error.message : npmErrorSummary(result.stdout) ?? tail(result.stderr);
  return inputError(spec as NpmInputSpec, 'KILN_FETCH_NPM', `${what} failed: ${detail}`, {
    ...(result.error && { cause: result.error }),
    found: tail(result.stderr),
    hint: result.error
      ? 'kiln fetches npm packages through the npm client: install npm'
      : 'check the package name and version, and npm\'s registry settings (`npm config get registry`, .npmrc)',
  });
}

/** `npm … --json` prints `{ "error": { "code", "summary" } }` on failure. */
function npmErrorSummary(stdout: string): string | undefined {
  try {
    const parsed = JSON.parse(stdout) as { error?: { code?: string; summary?: string } };
    if (parsed.error) return [parsed.error.code, parsed.error.summary].filter(Boolean).join(': ');
  } catch {
    // not JSON: stderr says more
  }
  return undefined;
}

/**
 * Parses `npm view <spec> name version dist.tarball dist.integrity --json`: one object for
 * one matching version, an array when a range matches several (then the highest wins, as
 * npm install would pick). Pure. Returns undefined when nothing usable matched.
 */
export function parseNpmView(text: string): NpmResolution | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text === '' ? 'null' : text);
  } catch {
    return undefined;
  }
  const rows = (Array.isArray(parsed) ? parsed : [parsed]).flatMap((row): NpmResolution[] => {
    if (typeof row !== 'object' || row === null) return [];
    const r = row as Record<string, unknown>;
    const { name, version } = r;
    const tarball = r['dist.tarball'];
    const integrity = r['dist.integrity'];
    if (typeof name !== 'string' || typeof version !== 'string' || typeof tarball !== 'string' || typeof integrity !== 'string') return [];
    return [{ package: name, version, tarball, integrity }];
  });
  return rows.sort((a, b) => compareSemver(a.version, b.version)).at(-1);
}

/** semver §11 precedence; build metadata ignored. */
export function compareSemver(a: string, b: string): number {
  const split = (v: string) => {
    const [core, pre] = v.split('+')[0]!.split(/-(.*)/s) as [string, string | undefined];
    return { nums: core.split('.').map(Number), pre: pre === undefined ? [] : pre.split('.') };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < 3; i++) if (x.nums[i] !== y.nums[i]) return (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
  if (x.pre.length === 0 || y.pre.length === 0) return y.pre.length - x.pre.length;
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    if (p === q) continue;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn) return Number(p) - Number(q);
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return 0;
}

/**
 * Resolves a version, range or dist-tag to one exact version with its tarball URL and the
 * registry's integrity, through the user's npm client (`npm view`): its registry, auth and
 * proxy settings apply. Network: only `kiln lock` calls this.
 */
export async function resolveNpm(spec: Target, options: { cwd: string; signal?: AbortSignal }): Promise<NpmResolution> {
  const target = assertTarget(spec);
  const result = await runTool('npm', ['view', target, 'name', 'version', 'dist.tarball', 'dist.integrity', '--json'], { ...options, env: NPM_ENV });
  if (result.error || result.code !== 0) throw npmFailed(spec, `npm view ${target}`, result);
  const resolved = parseNpmView(result.stdout);
  if (!resolved) {
    throw inputError(spec as NpmInputSpec, 'KILN_FETCH_NPM', `npm view ${target}: no published version matches`, {
      found: tail(result.stdout),
      hint: 'check the version or range; `npm view <name> versions` lists what the registry has',
    });
  }
  return resolved;
}

/**
 * `npm pack <name>@<version>` into a fresh temp folder: the user's npm client downloads the
 * tarball (registry, auth, proxy, cache) and checks it against the registry's own
 * integrity; then it streams into the store verified against the input's SRI, which is
 * what decides. The temp folder is always removed.
 */
export async function fetchNpm(store: Store, spec: NpmInputSpec, options: FetchOptions): Promise<Fetched> {
  const target = assertTarget(spec);
  const dir = await mkdtemp(join(tmpdir(), 'kiln-npm-'));
  try {
    const result = await runTool('npm', ['pack', target, '--pack-destination', dir, '--json', '--ignore-scripts'], {
      cwd: options.recipeDir,
      signal: options.signal,
      env: NPM_ENV,
    });
    if (options.signal?.aborted) throw inputError(spec, 'KILN_FETCH_ABORTED', `download of ${target} aborted`, { cause: options.signal.reason });
    if (result.error || result.code !== 0) throw npmFailed(spec, `npm pack ${target}`, result);
    return await storeToolDownload(store, spec, dir, '.tgz', options, (n) =>
      inputError(spec, 'KILN_FETCH_NPM', `npm pack ${target} produced ${n} tarballs, expected 1`),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
