import { spawn } from 'node:child_process';
import { sriFromSha256Hex } from '../util/integrity.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DebInputSpec } from '../recipe/types.js';
import type { Store } from '../store/types.js';
import { inputError } from './errors.js';
import { storeToolDownload, type Fetched } from './fetched.js';
import { runTool, tail } from './run.js';
import type { FetchOptions } from './types.js';

// Debian policy §5.6.1 (package), §5.6.12 (version); checked so that nothing reaches apt-get's
// command line that it could read as an option.
const PACKAGE_PATTERN = /^[a-z0-9][a-z0-9+.-]+$/;
const VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z.+~:-]*$/;
const ARCH_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

/**
 * The package URL of a Debian binary package (purl spec, type `deb`); the version is
 * percent-encoded, so an epoch's `:` becomes `%3A`.
 * Example: debPurl('busybox-static', '1:1.35.0-4+b3', 'amd64')
 *   → 'pkg:deb/debian/busybox-static@1%3A1.35.0-4%2Bb3?arch=amd64'
 */
export function debPurl(pkg: string, version: string, arch: string): string {
  return `pkg:deb/debian/${encodeURIComponent(pkg)}@${encodeURIComponent(version)}?arch=${encodeURIComponent(arch)}`;
}

/** What `kiln lock` records for a binary package: apt's URL and the SHA256 from its signed index. */
export interface DebResolution {
  url: string;
  integrity: string;
}

/**
 * Parses one line of `apt-get download --print-uris`: `'<url>' <file> <size> SHA256:<hex>`.
 * Pure; undefined when no line carries a SHA256.
 */
export function parsePrintUris(text: string): DebResolution | undefined {
  for (const line of text.split('\n')) {
    const m = /^'([^']+)' (\S+) (\d+) SHA256:([0-9a-f]{64})$/.exec(line.trim());
    if (m) return { url: m[1]!, integrity: sriFromSha256Hex(m[4]!) };
  }
  return undefined;
}

/**
 * Resolves a binary package to its URL and integrity from apt's local (signed) index, with
 * `apt-get download --print-uris`: nothing is downloaded. Used by `kiln lock`.
 */
export async function resolveDeb(spec: DebInputSpec, options: { signal?: AbortSignal } = {}): Promise<DebResolution> {
  if (!PACKAGE_PATTERN.test(spec.package) || !VERSION_PATTERN.test(spec.version) || !ARCH_PATTERN.test(spec.arch)) {
    throw inputError(spec, 'KILN_FETCH_UNSUPPORTED', `not a Debian package reference: ${spec.package}:${spec.arch}=${spec.version}`);
  }
  const target = `${spec.package}:${spec.arch}=${spec.version}`;
  const result = await runTool('apt-get', ['download', '--print-uris', target], { cwd: tmpdir(), signal: options.signal, env: { LC_ALL: 'C' } });
  const resolved = result.code === 0 && !result.error ? parsePrintUris(result.stdout) : undefined;
  if (!resolved) {
    throw inputError(spec, 'KILN_FETCH_APT', `apt-get download --print-uris ${target} failed: ${result.error?.message ?? tail(result.stderr || result.stdout)}`, {
      hint: 'run `apt-get update` first; the version may also have left the archive',
    });
  }
  return resolved;
}

interface RunResult {
  code: number | null;
  stderr: string;
  error?: Error;
}

function run(command: string, args: string[], cwd: string, signal?: AbortSignal): Promise<RunResult> {
  return new Promise((resolve) => {
    // LC_ALL=C: apt's messages in one language, so that the error we show is predictable.
    const child = spawn(command, args, { cwd, signal, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 64 * 1024) stderr += d;
    });
    let error: Error | undefined;
    child.on('error', (err) => (error = err));
    child.on('close', (code) => resolve({ code, stderr, ...(error && { error }) }));
  });
}

/**
 * `apt-get download <package>:<arch>=<version>` in a fresh temp folder, through the machine's
 * own apt configuration and sources (kiln names no archive host); then the .deb goes into the
 * store verified against the input's SRI. The temp folder is always removed.
 */
export async function fetchDeb(store: Store, spec: DebInputSpec, options: FetchOptions): Promise<Fetched> {
  if (!PACKAGE_PATTERN.test(spec.package) || !VERSION_PATTERN.test(spec.version) || !ARCH_PATTERN.test(spec.arch)) {
    throw inputError(spec, 'KILN_FETCH_UNSUPPORTED', `not a Debian package reference: ${spec.package}:${spec.arch}=${spec.version}`);
  }
  const target = `${spec.package}:${spec.arch}=${spec.version}`;
  const dir = await mkdtemp(join(tmpdir(), 'kiln-apt-'));
  try {
    const result = await run('apt-get', ['download', target], dir, options.signal);
    if (options.signal?.aborted) throw inputError(spec, 'KILN_FETCH_ABORTED', `download of ${target} aborted`, { cause: options.signal.reason });
    if (result.error || result.code !== 0) {
      const detail = result.error ? result.error.message : result.stderr.trim();
      throw inputError(spec, 'KILN_FETCH_APT', `apt-get download ${target} failed: ${detail}`, {
        ...(result.error && { cause: result.error }),
        found: result.stderr.trim(),
        hint: 'run `apt-get update` first; the version may also have left the archive',
      });
    }
    return await storeToolDownload(store, spec, dir, '.deb', options, (n) =>
      inputError(spec, 'KILN_FETCH_APT', `apt-get download ${target} produced ${n} .deb files, expected 1`),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
