import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { DebsrcInputSpec } from '../recipe/types.js';
import { comparePaths, TREE_FORMAT, type TreeEntry, type TreeManifest } from '../store/tree.js';
import type { Store } from '../store/types.js';
import { HASH_CHUNK_BYTES, type Digest } from '../util/digest.js';
import { hexDigestsOfSri, sriFromSha256Hex } from '../util/integrity.js';
import { inputError, type FetchError } from './errors.js';
import type { Fetched } from './fetched.js';
import { runTool, tail } from './run.js';
import type { FetchOptions } from './types.js';

/**
 * The package URL of a Debian source package (purl spec, type deb, `arch=source`).
 * Example: debsrcPurl('hello', '2.10-3') → 'pkg:deb/debian/hello@2.10-3?arch=source'
 */
export function debsrcPurl(pkg: string, version: string): string {
  return `pkg:deb/debian/${encodeURIComponent(pkg)}@${encodeURIComponent(version)}?arch=source`;
}

/** One file a .dsc lists, pinned by its Checksums-Sha256 line. */
export interface DscFile {
  name: string;
  sha256: string;
  size: number;
}

export interface Dsc {
  source: string;
  version: string;
  format: string;
  files: DscFile[];
}

// Debian policy §5.6.1 / §5.6.12; checked so that nothing reaches apt-get as an option.
const PACKAGE_PATTERN = /^[a-z0-9][a-z0-9+.-]+$/;
const VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z.+~:-]*$/;
/** A file name a .dsc may list: one path component, no `..`, nothing a shell or URL bends. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9.+~_-]*$/;

/**
 * Parses a .dsc (deb822, possibly clear-signed; the signature is not checked: the pin is the
 * .dsc's own integrity, from apt's signed index or kiln.lock). Pure. Returns the fields kiln
 * needs, or a string saying what is wrong.
 */
export function parseDsc(text: string): Dsc | string {
  let body = text.replace(/\r\n/g, '\n');
  if (body.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) {
    const start = body.indexOf('\n\n');
    const end = body.indexOf('\n-----BEGIN PGP SIGNATURE-----');
    if (start === -1 || end === -1 || end < start) return 'a clear-signed .dsc without its signed text';
    // RFC 4880 §7.1: dash-escaped lines start with "- ".
    body = body.slice(start + 2, end).split('\n').map((l) => (l.startsWith('- ') ? l.slice(2) : l)).join('\n');
  }
  const fields = new Map<string, string>();
  let current: string | undefined;
  for (const line of body.split('\n')) {
    if (line.trim() === '') {
      if (fields.size > 0) break; // one paragraph
      continue;
    }
    if (/^[ \t]/.test(line)) {
      if (current === undefined) return 'a continuation line before any field';
      fields.set(current, `${fields.get(current)}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return `a line that is not a field: ${JSON.stringify(line.slice(0, 80))}`;
    current = line.slice(0, colon).toLowerCase();
    fields.set(current, line.slice(colon + 1).trim());
  }
  const source = fields.get('source');
  const version = fields.get('version');
  const format = fields.get('format') ?? '1.0';
  const sums = fields.get('checksums-sha256');
  if (!source || !version) return 'no Source or Version field';
  if (sums === undefined) return 'no Checksums-Sha256 field';
  const files: DscFile[] = [];
  for (const row of sums.split('\n').map((r) => r.trim()).filter(Boolean)) {
    const m = /^([0-9a-f]{64})\s+(\d+)\s+(\S+)$/.exec(row);
    if (!m) return `a Checksums-Sha256 line kiln cannot read: ${JSON.stringify(row)}`;
    if (!FILE_NAME.test(m[3]!)) return `an unsafe file name: ${JSON.stringify(m[3])}`;
    if (files.some((f) => f.name === m[3])) return `${m[3]} listed twice`;
    files.push({ sha256: m[1]!, size: Number(m[2]), name: m[3]! });
  }
  if (files.length === 0) return 'Checksums-Sha256 lists no files';
  return { source, version, format, files };
}

/** `<source>-<upstream version>`: the folder `dpkg-source -x` unpacks into (no epoch, no Debian revision). */
export function sourceDirName(source: string, version: string): string {
  const noEpoch = version.replace(/^[0-9]+:/, '');
  const dash = noEpoch.lastIndexOf('-');
  return `${source}-${dash === -1 ? noEpoch : noEpoch.slice(0, dash)}`;
}

/** The role of each listed file in the unpacked tree, by dpkg-source's naming rules. */
export type DscRole = { kind: 'orig' } | { kind: 'component'; component: string } | { kind: 'debian' } | { kind: 'native' } | { kind: 'signature' } | { kind: 'diff' };

const TAR_EXT = String.raw`\.tar\.(?:gz|xz|bz2|lzma)`;

export function dscRole(name: string): DscRole | undefined {
  if (name.endsWith('.asc')) return { kind: 'signature' };
  if (name.endsWith('.diff.gz')) return { kind: 'diff' };
  if (new RegExp(`\\.orig${TAR_EXT}$`).test(name)) return { kind: 'orig' };
  const comp = new RegExp(`\\.orig-([A-Za-z0-9][A-Za-z0-9-]*)${TAR_EXT}$`).exec(name);
  if (comp) return { kind: 'component', component: comp[1]! };
  if (new RegExp(`\\.debian${TAR_EXT}$`).test(name)) return { kind: 'debian' };
  if (new RegExp(`${TAR_EXT}$`).test(name)) return { kind: 'native' };
  return undefined;
}

/** A plan of how the listed tarballs make one tree, or a reason kiln does not unpack this source. */
export interface UnpackPlan {
  dir: string;
  /** Upstream (or native) tarball, then components, then debian: the order dpkg-source applies them. */
  layers: { file: string; role: 'base' | 'component' | 'debian'; component?: string }[];
}

export function planSourceUnpack(dsc: Dsc): UnpackPlan | string {
  const roles = dsc.files.map((f) => ({ file: f.name, role: dscRole(f.name) }));
  const unknown = roles.find((r) => r.role === undefined);
  if (unknown) return `a file kiln does not know how to unpack: ${unknown.file}`;
  const of = (kind: DscRole['kind']) => roles.filter((r) => r.role?.kind === kind);
  if (of('diff').length > 0) return `source format ${dsc.format} with a .diff.gz is not supported (kiln unpacks 3.0 (quilt), 3.0 (native) and native 1.0)`;
  const format = dsc.format.trim();
  const dir = sourceDirName(dsc.source, dsc.version);
  if (format === '3.0 (quilt)') {
    if (of('orig').length !== 1 || of('debian').length !== 1) return '3.0 (quilt) needs exactly one .orig.tar and one .debian.tar';
    return {
      dir,
      layers: [
        { file: of('orig')[0]!.file, role: 'base' },
        ...of('component').map((r) => ({ file: r.file, role: 'component' as const, component: (r.role as { component: string }).component })),
        { file: of('debian')[0]!.file, role: 'debian' },
      ],
    };
  }
  if (format === '3.0 (native)' || format === '1.0') {
    if (of('native').length !== 1 || roles.some((r) => !['native', 'signature'].includes(r.role!.kind))) return `format ${format}: kiln unpacks a native source (one .tar) only`;
    return { dir: `${dsc.source}-${dsc.version.replace(/^[0-9]+:/, '')}`, layers: [{ file: of('native')[0]!.file, role: 'base' }] };
  }
  return `source format ${JSON.stringify(format)} is not supported`;
}

/**
 * Lays unpacked tarballs out as `dpkg-source -x` does: the upstream tarball's single top
 * folder (whatever its name) becomes `<dir>/` (a tarball without one goes in as it is), each
 * component replaces `<dir>/<component>/`, any debian/ of upstream is dropped and the debian
 * tarball (which may hold only debian/) goes over it. Patches are NOT applied (dpkg-source
 * would apply debian/patches/series with quilt): the tree is the pristine upstream plus
 * debian/. Pure; returns the manifest or a reason.
 */
export function composeSourceTree(plan: UnpackPlan, trees: TreeManifest[]): TreeManifest | string {
  const out = new Map<string, TreeEntry>();
  const removeUnder = (prefix: string) => {
    for (const path of [...out.keys()]) if (path === prefix || path.startsWith(`${prefix}/`)) out.delete(path);
  };
  const place = (prefix: string, entries: TreeEntry[]) => {
    for (const e of entries) out.set(`${prefix}/${e.path}`, { ...e, path: `${prefix}/${e.path}` });
  };
  out.set(plan.dir, { path: plan.dir, type: 'dir' });
  for (const [i, layer] of plan.layers.entries()) {
    const entries = trees[i]!.entries;
    switch (layer.role) {
      case 'base':
        place(plan.dir, stripTop(entries));
        break;
      case 'component': {
        const at = `${plan.dir}/${layer.component}`;
        removeUnder(at);
        out.set(at, { path: at, type: 'dir' });
        place(at, stripTop(entries));
        break;
      }
      case 'debian': {
        const outside = entries.find((e) => e.path !== 'debian' && !e.path.startsWith('debian/'));
        if (outside) return `the debian tarball holds ${JSON.stringify(outside.path)}, outside debian/`;
        removeUnder(`${plan.dir}/debian`);
        place(plan.dir, entries);
        break;
      }
    }
  }
  const entries = [...out.values()].sort((a, b) => comparePaths(a.path, b.path));
  return { kiln: TREE_FORMAT, entries };
}

/** Drops a tarball's single top-level folder, as dpkg-source renames it to the source folder. */
function stripTop(entries: TreeEntry[]): TreeEntry[] {
  const tops = new Set(entries.map((e) => e.path.split('/')[0]!));
  if (tops.size !== 1) return entries;
  const top = entries.find((e) => e.path === [...tops][0]);
  if (top?.type !== 'dir') return entries;
  return entries.filter((e) => e !== top).map((e) => ({ ...e, path: e.path.slice(top.path.length + 1) }));
}

type Target = Pick<DebsrcInputSpec, 'name' | 'package' | 'version' | 'where'> & Partial<DebsrcInputSpec>;

function assertTarget(spec: Target): string {
  if (!PACKAGE_PATTERN.test(spec.package) || !VERSION_PATTERN.test(spec.version)) {
    throw inputError(spec as DebsrcInputSpec, 'KILN_FETCH_UNSUPPORTED', `not a Debian source package reference: ${spec.package}=${spec.version}`);
  }
  return `${spec.package}=${spec.version}`;
}

/** sha256 hex and size of a local file, read in 1 MiB chunks. */
async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: HASH_CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** A .dsc is a few KiB of text (the Linux kernel's is under 10 KiB): the budget for reading one. */
export const MAX_DSC_BYTES = 1024 * 1024;
const DSC_BUDGET = 'maxDscBytes';

/** How many bytes a download may bring, and the error past them (`found` undefined for a local file). */
interface SizeLimit {
  max: number;
  tooLarge: (found: string | undefined) => FetchError;
}

/**
 * Downloads (http, https) or copies (file) one URL to `dest`, refusing to read past
 * `limit.max` bytes: a local file is sized (and must be a regular file) before it is opened, a
 * download is counted as it streams. A `file:` URL takes no query or fragment: they would name
 * nothing in a file path and hid `/dev/zero` behind `#x.dsc`.
 */
async function download(spec: Target, url: string, dest: string, limit: SizeLimit, signal?: AbortSignal): Promise<void> {
  const parsed = new URL(url);
  let source: Readable;
  if (parsed.protocol === 'file:') {
    if (/[?#]/.test(url)) throw inputError(spec as DebsrcInputSpec, 'KILN_FETCH_UNSUPPORTED', `a file URL takes no query or fragment: ${url}`);
    const path = fileURLToPath(parsed);
    const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw inputError(spec as DebsrcInputSpec, 'KILN_FETCH_NOT_FOUND', `${url} does not exist`, { cause: err });
      throw err;
    });
    if (!info.isFile()) throw inputError(spec as DebsrcInputSpec, 'KILN_FETCH_UNSUPPORTED', `${url} is not a regular file`);
    // A local file's size is not echoed: only that it is too large.
    if (info.size > limit.max) throw limit.tooLarge(undefined);
    source = createReadStream(path, { highWaterMark: HASH_CHUNK_BYTES });
  } else if (parsed.protocol === 'http:' || parsed.protocol === 'https:') {
    const response = await fetch(parsed, { signal, headers: { 'accept-encoding': 'identity', 'user-agent': 'kiln' } }).catch((err: unknown) => {
      throw inputError(spec as DebsrcInputSpec, 'KILN_FETCH_NETWORK', `fetching ${url} failed: ${(err as Error).message}`, { cause: err });
    });
    if (response.status !== 200 || !response.body) {
      throw inputError(spec as DebsrcInputSpec, 'KILN_FETCH_HTTP', `${url} answered HTTP ${response.status}`, { expected: '200', found: String(response.status) });
    }
    const length = Number(response.headers.get('content-length') ?? NaN);
    if (Number.isSafeInteger(length) && length > limit.max) {
      await response.body.cancel().catch(() => undefined);
      throw limit.tooLarge(`${length} bytes`);
    }
    source = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
  } else {
    throw inputError(spec as DebsrcInputSpec, 'KILN_FETCH_UNSUPPORTED', `only http, https and file URLs are fetched, not ${parsed.protocol}`);
  }
  let bytes = 0;
  let over: FetchError | undefined;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > limit.max) {
        over = limit.tooLarge(parsed.protocol === 'file:' ? undefined : `more than ${limit.max} bytes`);
        return done(over);
      }
      done(null, chunk);
    },
  });
  await pipeline(source, counted, createWriteStream(dest, { flags: 'wx' }), { signal }).catch((err: NodeJS.ErrnoException) => {
    if (over) throw over;
    if (err.code === 'ENOENT') throw inputError(spec as DebsrcInputSpec, 'KILN_FETCH_NOT_FOUND', `${url} does not exist`, { cause: err });
    throw err;
  });
}

/** The limit of a .dsc download: the maxDscBytes budget. */
function dscLimit(spec: Target, url: string): SizeLimit {
  return {
    max: MAX_DSC_BYTES,
    tooLarge: (found) =>
      inputError(spec as DebsrcInputSpec, 'KILN_FETCH_TOO_LARGE', `${url} is larger than a .dsc may be (${MAX_DSC_BYTES} bytes, budget ${DSC_BUDGET})`, {
        budget: { name: DSC_BUDGET, limit: MAX_DSC_BYTES },
        ...(found !== undefined && { found }),
      }),
  };
}

/** The limit of a listed file: the size its Checksums-Sha256 line gives; more is an integrity failure. */
function listedLimit(spec: DebsrcInputSpec, file: DscFile): SizeLimit {
  return {
    max: file.size,
    tooLarge: (found) =>
      inputError(spec, 'KILN_FETCH_INTEGRITY', `integrity check failed: ${file.name} is larger than the .dsc's Checksums-Sha256 says`, {
        expected: `${file.size} bytes`,
        ...(found !== undefined && { found }),
        hint: 'the file was tampered with or corrupted on the way',
      }),
  };
}

/** `deb-src` lines matching the machine's `deb` sources: what the error tells the user to add. */
async function debSrcLines(): Promise<string[]> {
  const result = await runTool('apt-get', ['indextargets', '--format', '$(REPO_URI) $(RELEASE) $(COMPONENT)', 'Target-Of: deb'], { cwd: tmpdir() });
  return [...new Set(result.stdout.split('\n').map((l) => l.trim()).filter(Boolean))].sort().map((l) => `deb-src ${l}`);
}

async function aptSourceFailed(spec: Target, what: string, stderr: string, error?: Error) {
  if (/deb-src/.test(stderr)) {
    const lines = await debSrcLines().catch(() => []);
    return inputError(spec as DebsrcInputSpec, 'KILN_FETCH_APT', `${what}: apt has no deb-src sources configured`, {
      found: tail(stderr),
      hint:
        (lines.length > 0 ? `add to /etc/apt/sources.list (or "Types: deb deb-src" in the .sources file):\n  ${lines.join('\n  ')}\n` : 'add deb-src lines for your deb sources, ') +
        'then run `apt-get update`; or give the input a `dsc:` URL',
    });
  }
  return inputError(spec as DebsrcInputSpec, 'KILN_FETCH_APT', `${what} failed: ${error ? error.message : tail(stderr)}`, {
    ...(error && { cause: error }),
    found: tail(stderr),
    hint: 'run `apt-get update` first; the version may also have left the archive (pin a snapshot source in apt\'s configuration)',
  });
}

/** What `kiln lock` records for a source package: the .dsc's place and integrity and the files it pins. */
export interface DebsrcResolution {
  dsc: string;
  integrity: string;
  files: DscFile[];
}

/**
 * Resolves a source package to its .dsc URL and sha256 SRI: with `dsc:` by downloading the
 * .dsc; otherwise from apt's (signed) Sources index with `apt-get source --print-uris`,
 * which needs no download. Network: `kiln lock` only.
 */
export async function resolveDebsrc(spec: Target, options: { signal?: AbortSignal }): Promise<DebsrcResolution> {
  const target = assertTarget(spec);
  const dir = await mkdtemp(join(tmpdir(), 'kiln-debsrc-'));
  try {
    let url = spec.dsc;
    let sha256: string;
    if (url !== undefined) {
      const file = join(dir, 'source.dsc');
      await download(spec, url, file, dscLimit(spec, url), options.signal);
      sha256 = (await hashFile(file)).sha256;
    } else {
      const result = await runTool('apt-get', ['source', '--print-uris', '-q', target], { cwd: dir, signal: options.signal, env: { LC_ALL: 'C' } });
      if (result.error || result.code !== 0 || /^E: /m.test(result.stderr)) throw await aptSourceFailed(spec, `apt-get source --print-uris ${target}`, result.stderr, result.error);
      const line = result.stdout.split('\n').map((l) => /^'([^']+)' (\S+) (\d+) SHA256:([0-9a-f]{64})$/.exec(l.trim())).find((m) => m?.[2]!.endsWith('.dsc'));
      if (!line) throw inputError(spec as DebsrcInputSpec, 'KILN_FETCH_APT', `apt-get source --print-uris ${target} named no .dsc with a SHA256`, { found: tail(result.stdout) });
      url = line[1]!;
      sha256 = line[4]!;
      await download(spec, url, join(dir, 'source.dsc'), dscLimit(spec, url), options.signal);
    }
    const integrity = sriFromSha256Hex(sha256);
    const dsc = readDsc(spec, await readFile(join(dir, 'source.dsc'), 'utf8'));
    return { dsc: url, integrity, files: dsc.files };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function readDsc(spec: Target, text: string): Dsc {
  const dsc = parseDsc(text);
  if (typeof dsc === 'string') throw inputError(spec as DebsrcInputSpec, 'KILN_FETCH_DSC', `the .dsc of ${spec.package}=${spec.version} is unusable: ${dsc}`);
  if (dsc.source !== spec.package || dsc.version !== spec.version) {
    throw inputError(spec as DebsrcInputSpec, 'KILN_FETCH_DSC', `the .dsc is for ${dsc.source}=${dsc.version}, not ${spec.package}=${spec.version}`, {
      expected: `${spec.package}=${spec.version}`,
      found: `${dsc.source}=${dsc.version}`,
    });
  }
  return dsc;
}

/** The SRI's sha256 (kiln pins a .dsc with one), as hex; empty if the SRI has none. */
function sriSha256(integrity: string): string[] {
  const hex = hexDigestsOfSri(integrity).sha256;
  return hex === undefined ? [] : [hex];
}

/**
 * Where a source package comes from instead of its upstream: the .dsc at a URL with its files
 * beside it, or blobs by sha256 (`save` writes one to a new local file, or throws a FetchError).
 */
export type DebsrcOrigin =
  | { kind: 'url'; dsc: string }
  | { kind: 'blobs'; save: (sha256: string, size: number | undefined, dest: string) => Promise<void> };

/**
 * Fetches a pinned source package: the .dsc and every file it lists into a temp folder
 * (from `dsc:`'s folder, or `apt-get source --download-only` through the machine's apt
 * setup), then checks, before anything enters the store, the .dsc against the input's SRI and
 * each file against the .dsc's Checksums-Sha256 and size. Only then is everything stored
 * (verified once more while written) and unpacked: a tampered file leaves nothing behind.
 * The fetched digest is the .dsc's; the mount is the unpacked tree (see composeSourceTree).
 * `origin` (chosen by src/fetch/fetch.ts) replaces the upstream: a .dsc URL with its files
 * beside it (Debian's snapshot archive), or a content-addressed store of blobs (a mirror).
 */
export async function fetchDebsrc(store: Store, spec: DebsrcInputSpec, options: FetchOptions, origin?: DebsrcOrigin): Promise<Fetched & { tree: Digest }> {
  const target = assertTarget(spec);
  const pinned = sriSha256(spec.integrity);
  if (pinned.length === 0) throw inputError(spec, 'KILN_FETCH_BAD_INTEGRITY', 'a debsrc input is pinned by the sha256 of its .dsc: the integrity must include sha256-…');
  const dir = await mkdtemp(join(tmpdir(), 'kiln-debsrc-'));
  try {
    let dscFile: string;
    let fetchFile: (file: DscFile) => Promise<void>;
    const dscUrl = origin?.kind === 'url' ? origin.dsc : spec.dsc;
    if (origin?.kind === 'blobs') {
      dscFile = join(dir, '.source.dsc');
      await origin.save(pinned[0]!, undefined, dscFile);
      fetchFile = (file) => origin.save(file.sha256, file.size, join(dir, file.name));
    } else if (dscUrl !== undefined) {
      // A leading dot: no name a .dsc may list (FILE_NAME) can collide with it.
      dscFile = join(dir, '.source.dsc');
      await download(spec, dscUrl, dscFile, dscLimit(spec, dscUrl), options.signal);
      const base = dscUrl;
      fetchFile = (file) => download(spec, new URL(file.name, base).href, join(dir, file.name), listedLimit(spec, file), options.signal);
    } else {
      const result = await runTool('apt-get', ['source', '--download-only', '-q', target], { cwd: dir, signal: options.signal, env: { LC_ALL: 'C' } });
      if (result.error || result.code !== 0 || /^E: /m.test(result.stderr)) throw await aptSourceFailed(spec, `apt-get source --download-only ${target}`, result.stderr, result.error);
      const dscs = (await readdir(dir)).filter((n) => n.endsWith('.dsc'));
      if (dscs.length !== 1) throw inputError(spec, 'KILN_FETCH_APT', `apt-get source ${target} produced ${dscs.length} .dsc files, expected 1`);
      dscFile = join(dir, dscs[0]!);
      fetchFile = async () => {};
    }
    // The digest of what a file: URL named is not echoed: a recipe must not learn the
    // digest (or confirm a guess of the content) of a file it has no right to read.
    const local = spec.dsc !== undefined && /^file:/i.test(spec.dsc);
    const dscHash = await hashFile(dscFile);
    if (!pinned.includes(dscHash.sha256)) {
      throw inputError(spec, 'KILN_FETCH_INTEGRITY', 'integrity check failed: the .dsc does not match the pinned SRI', {
        expected: spec.integrity,
        ...(!local && { found: sriFromSha256Hex(dscHash.sha256) }),
        hint: 'the source package changed or was tampered with; if the change is intended, run `kiln lock --update`',
      });
    }
    const dsc = readDsc(spec, await readFile(dscFile, 'utf8'));
    const plan = planSourceUnpack(dsc);
    if (typeof plan === 'string') throw inputError(spec, 'KILN_FETCH_DSC', plan);
    for (const file of dsc.files) {
      if (dscFile !== join(dir, file.name)) await fetchFile(file);
      const found = await hashFile(join(dir, file.name));
      if (found.sha256 !== file.sha256 || found.size !== file.size) {
        throw inputError(spec, 'KILN_FETCH_INTEGRITY', `integrity check failed: ${file.name} does not match the .dsc's Checksums-Sha256`, {
          expected: `${file.sha256} ${file.size}`,
          ...(!local && { found: `${found.sha256} ${found.size}` }),
          hint: 'the file was tampered with or corrupted on the way',
        });
      }
    }
    // Everything is verified: now it may enter the store.
    const dscPut = await store.putFile(dscFile, { digest: `sha256:${dscHash.sha256}`, signal: options.signal });
    const blobs = new Map<string, Digest>();
    for (const file of dsc.files) {
      const put = await store.putFile(join(dir, file.name), { digest: `sha256:${file.sha256}`, signal: options.signal, onProgress: (n) => options.onProgress?.(spec.name, n) });
      blobs.set(file.name, put.digest);
    }
    const { unpackArchive } = await import('../archive/index.js');
    const trees: TreeManifest[] = [];
    for (const layer of plan.layers) trees.push((await unpackArchive(store, blobs.get(layer.file)!, { label: `${spec.name} (${layer.file})` })).manifest);
    const manifest = composeSourceTree(plan, trees);
    if (typeof manifest === 'string') throw inputError(spec, 'KILN_FETCH_DSC', manifest);
    const tree = await store.putTree(manifest);
    return { digest: dscPut.digest, size: dscPut.size, tree, mount: { kind: 'tree', tree } };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

