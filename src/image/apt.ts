import { spawn } from 'node:child_process';
import { sriFromSha256Hex } from '../util/integrity.js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { runTool, tail } from '../fetch/run.js';
import { resolvedTime, snapshotRefFromUri } from '../fetch/index.js';
import type { DebianPackagePin } from '../recipe/types.js';
import { ImageError } from './errors.js';

// Debian policy §5.6.1 (package names); checked so nothing reaches apt-get's command line as an option.
export const DEBIAN_PACKAGE_PATTERN = /^[a-z0-9][a-z0-9+.-]+$/;
const ARCH_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

/**
 * The marker package that says "/usr is merged". kiln lays every debian image out merged
 * (/bin → usr/bin …), as debootstrap does since bookworm, so this is the truthful way to satisfy
 * `usrmerge | usr-is-merged` (the usrmerge converter would drag perl in for nothing).
 */
const USR_IS_MERGED = 'usr-is-merged';

/** One line of `apt-get install --print-uris`, parsed. */
export interface AptUri {
  package: string;
  version: string;
  arch: string;
  url: string;
  size: number;
  integrity: string;
}

/**
 * Parses `apt-get install --print-uris -o Acquire::ForceHash=SHA256` output: one
 * `'<url>' <name>_<version>_<arch>.deb <size> SHA256:<hex>` line per package, where the file
 * name carries the epoch as `%3a`. Pure; other lines are ignored; sorted by package name.
 */
export function parseInstallPrintUris(text: string): AptUri[] {
  const out: AptUri[] = [];
  for (const line of text.split('\n')) {
    const m = /^'([^']+)' ([^_\s]+)_([^_\s]+)_([^_\s]+)\.deb (\d+) SHA256:([0-9a-f]{64})$/.exec(line.trim());
    if (!m) continue;
    out.push({
      package: m[2]!,
      version: decodeURIComponent(m[3]!),
      arch: m[4]!,
      url: m[1]!,
      size: Number(m[5]),
      integrity: sriFromSha256Hex(m[6]!),
    });
  }
  return out.sort((a, b) => (a.package < b.package ? -1 : a.package > b.package ? 1 : 0));
}

/**
 * The essential/required set in apt's available records (`apt-cache dumpavail` stanzas):
 * packages with `Essential: yes` or `Priority: required` for `arch` (or `all`), as debootstrap's
 * minbase takes them. Pure over an iterable of lines, so the 50 MB dump is never held whole.
 */
export async function requiredPackages(lines: AsyncIterable<string> | Iterable<string>, arch: string): Promise<string[]> {
  const found = new Set<string>();
  let name = '';
  let stanzaArch = '';
  let required = false;
  const flush = () => {
    if (name !== '' && required && (stanzaArch === arch || stanzaArch === 'all')) found.add(name);
    name = '';
    stanzaArch = '';
    required = false;
  };
  for await (const line of lines) {
    if (line === '') flush();
    else if (line.startsWith('Package: ')) name = line.slice(9).trim();
    else if (line.startsWith('Architecture: ')) stanzaArch = line.slice(14).trim();
    else if (line === 'Essential: yes' || line === 'Priority: required') required = true;
  }
  flush();
  return [...found].sort();
}

export interface ResolveDebianOptions {
  signal?: AbortSignal;
  /** The resolution time recorded with each pin's snapshot coordinates (ISO 8601 UTC); default now. */
  resolved?: string;
}

/**
 * `kiln lock` for a `debian` image: the closure of `packages` plus the essential/required set,
 * computed by apt's own solver on the host against an EMPTY dpkg status (so what the host has
 * installed does not matter) and an empty archive cache (apt leaves out URIs of .debs it has
 * cached), without recommends (as debootstrap). Versions and SHA256s come from apt's signed
 * index; nothing is downloaded.
 */
export async function resolveDebianPackages(packages: string[], arch: string, options: ResolveDebianOptions = {}): Promise<DebianPackagePin[]> {
  for (const p of packages) {
    if (!DEBIAN_PACKAGE_PATTERN.test(p)) throw new ImageError('KILN_IMAGE_BAD_PACKAGE', `not a Debian package name: ${JSON.stringify(p)}`);
  }
  if (!ARCH_PATTERN.test(arch)) throw new ImageError('KILN_IMAGE_BAD_PACKAGE', `not a Debian architecture: ${JSON.stringify(arch)}`);
  const available = await dumpAvailable(arch, options.signal);
  const required = new Set(available.required);
  const wanted = new Set([...required, ...packages]);
  if (available.names.has(USR_IS_MERGED)) wanted.add(USR_IS_MERGED);
  const dir = await mkdtemp(join(tmpdir(), 'kiln-apt-resolve-'));
  try {
    await writeFile(join(dir, 'status'), '');
    await mkdir(join(dir, 'archives', 'partial'), { recursive: true });
    const args = [
      'install', '--print-uris', '-qq',
      '-o', `Dir::State::status=${join(dir, 'status')}`,
      '-o', `Dir::Cache::archives=${join(dir, 'archives')}`,
      '-o', 'Debug::NoLocking=1',
      '-o', 'APT::Install-Recommends=false',
      '-o', 'APT::Install-Suggests=false',
      '-o', 'Acquire::ForceHash=SHA256',
      '--',
      // Sorted: the same set asked in any order gives the solver the same question.
      ...[...wanted].sort().map((p) => `${p}:${arch}`),
    ];
    const result = await runTool('apt-get', args, { cwd: dir, signal: options.signal, env: { LC_ALL: 'C' } });
    if (result.error || result.code !== 0) {
      throw new ImageError('KILN_IMAGE_APT', `apt-get cannot resolve ${packages.join(', ') || 'the required set'}: ${result.error?.message ?? tail(result.stderr || result.stdout)}`, {
        ...(result.error && { cause: result.error }),
        hint: 'run `apt-get update` first; a package may not exist for this architecture',
      });
    }
    const uris = parseInstallPrintUris(result.stdout);
    const resolved = options.resolved ?? resolvedTime(new Date());
    const pins = uris.map((u): DebianPackagePin => {
      // The archive's name and pool path, never its host: where a snapshot service keeps the file.
      const snapshot = snapshotRefFromUri(u.url, resolved);
      return { package: u.package, version: u.version, arch: u.arch, integrity: u.integrity, size: u.size, required: required.has(u.package), ...(snapshot && { snapshot }) };
    });
    assertAssemblable(pins);
    return pins;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The packages the assembly script itself needs: dpkg to install, a shell and coreutils to run it. */
const ASSEMBLY_NEEDS = ['dpkg', 'dash', 'coreutils', 'base-files', 'base-passwd', 'libc6'];

/** Throws KILN_IMAGE_INCOMPLETE when a pinned set cannot configure itself. */
export function assertAssemblable(pins: DebianPackagePin[]): void {
  const names = new Set(pins.map((p) => p.package));
  const missing = ASSEMBLY_NEEDS.filter((n) => !names.has(n));
  if (missing.length > 0) {
    throw new ImageError('KILN_IMAGE_INCOMPLETE', `the resolved package set lacks ${missing.join(', ')}, which assembling the image needs`, {
      hint: 'the essential/required set should bring them; check apt\'s sources',
    });
  }
}

/** Streams `apt-cache dumpavail`: the required set for `arch` and every package name. */
async function dumpAvailable(arch: string, signal?: AbortSignal): Promise<{ required: string[]; names: Set<string> }> {
  const child = spawn('apt-cache', ['dumpavail'], { env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'], signal });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 64 * 1024) stderr += d;
  });
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    let error: Error | undefined;
    child.on('error', (err) => (error = err));
    child.on('close', (code) => resolve({ code, ...(error && { error }) }));
  });
  const names = new Set<string>();
  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  async function* tap(): AsyncIterable<string> {
    for await (const line of lines) {
      if (line.startsWith('Package: ')) names.add(line.slice(9).trim());
      yield line;
    }
  }
  const required = await requiredPackages(tap(), arch);
  const { code, error } = await exited;
  if (error || code !== 0 || required.length === 0) {
    throw new ImageError('KILN_IMAGE_APT', `apt-cache dumpavail found no required packages for ${arch}: ${error?.message ?? tail(stderr)}`, {
      ...(error && { cause: error }),
      hint: 'run `apt-get update` first',
    });
  }
  return { required, names };
}
