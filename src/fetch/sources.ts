import { isAbsolute, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { DebianSnapshotRef } from '../recipe/types.js';
import { UsageError } from '../util/errors.js';
import { redactUrl } from './http.js';

/**
 * Where pinned bytes may come from besides the store and the upstream the recipe names (see
 * docs/mirrors.md). The digest is the identity: any source that yields the pinned bytes will
 * do, and every byte from any source is verified while it streams.
 */
export interface SourceOptions {
  /**
   * Content-addressed mirrors, tried in this order before the upstream: folders (a path or a
   * `file:` URL) and http(s) bases. Blobs at `<base>/cas/<sha256 hex>` (bazel-remote's HTTP
   * layout, what `kiln vendor` writes); a folder may also be a kiln store's root.
   */
  mirrors?: string[];
  /** Base of a service with the URL layout of Debian's snapshot archive, tried after apt. */
  debianSnapshot?: string;
}

/** A folder or an http(s) base; `label` is what messages show (no credentials). */
export type PlaceLocation = { kind: 'file'; path: string; label: string } | { kind: 'http'; url: URL; label: string };

/**
 * A mirror: a place (folder, http base) holding `cas/<sha256>`, or a content store reached by
 * digest (the shared cache's remote CAS, docs/remote-execution.md), whose bytes are verified
 * like any other source's.
 */
export type Location = PlaceLocation | { kind: 'cas'; store: ContentSource; label: string };

/**
 * A content-addressed store that kiln reads by digest rather than by path or URL. It answers
 * with the bytes of a blob (by sha256, and by size when the pin knows it), or says why not;
 * the fetcher verifies every byte against the pin as from any other source.
 */
export interface ContentSource {
  open(blob: { sha256: string; size?: number }, signal?: AbortSignal): Promise<ContentOpened>;
}

/** A content source's answer: the bytes to stream and their size, or why not (`missing`: it lacks them). */
export type ContentOpened = { ok: true; stream: Readable; size: number } | { ok: false; missing: boolean; reason: string };

/** SourceOptions resolved once per command, the environment included. */
export interface Sources {
  mirrors: Location[];
  debianSnapshot?: PlaceLocation;
}

/** Whitespace-separated mirrors, used after the ones given with --mirror. */
export const MIRRORS_ENV = 'KILN_MIRRORS';
/** The snapshot service's base, unless --debian-snapshot gives one. */
export const DEBIAN_SNAPSHOT_ENV = 'KILN_DEBIAN_SNAPSHOT';

export const NO_SOURCES: Sources = { mirrors: [] };

/**
 * Parses one mirror or snapshot base: `http(s)://…`, `file:` URL, or a folder path (relative
 * to `cwd`). Pure. Throws UsageError for any other scheme. `what` names the option in errors.
 */
export function parseLocation(text: string, what: string, cwd: string = process.cwd()): PlaceLocation {
  const trimmed = text.trim();
  if (trimmed === '') throw new UsageError(`${what}: an empty location`);
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(trimmed)?.[1]?.toLowerCase();
  // A one-letter "scheme" is a Windows drive, never a URL kiln fetches.
  if (scheme === undefined || scheme.length === 1) {
    const path = isAbsolute(trimmed) ? trimmed : resolve(cwd, trimmed);
    return { kind: 'file', path, label: path };
  }
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new UsageError(`${what}: not a URL or folder: ${JSON.stringify(trimmed)}`);
  }
  if (scheme === 'file') {
    const path = fileURLToPath(url);
    return { kind: 'file', path, label: path };
  }
  if (scheme === 'http' || scheme === 'https') {
    if (url.search || url.hash) throw new UsageError(`${what}: a base URL takes no query or fragment: ${redactUrl(url)}`);
    // A base is a folder: `https://cache/x` and `https://cache/x/` mean the same.
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    return { kind: 'http', url, label: redactUrl(url) };
  }
  throw new UsageError(`${what}: kiln reads mirrors from folders, file:, http: and https: URLs, not ${scheme}:`, { hint: 'e.g. --mirror ./vendor or --mirror https://cache.example.org/' });
}

/**
 * The sources of one command: `--mirror` values in order, then those of $KILN_MIRRORS
 * (whitespace-separated); `--debian-snapshot`, else $KILN_DEBIAN_SNAPSHOT. Pure over `env`.
 */
export function resolveSources(options: SourceOptions = {}, env: Record<string, string | undefined> = process.env, cwd: string = process.cwd()): Sources {
  const fromEnv = (env[MIRRORS_ENV] ?? '').split(/\s+/).filter((t) => t !== '');
  const mirrors = [
    ...(options.mirrors ?? []).map((m) => parseLocation(m, '--mirror', cwd)),
    ...fromEnv.map((m) => parseLocation(m, MIRRORS_ENV, cwd)),
  ];
  const snapshot = options.debianSnapshot ?? (env[DEBIAN_SNAPSHOT_ENV] || undefined);
  return { mirrors, ...(snapshot !== undefined && { debianSnapshot: parseLocation(snapshot, options.debianSnapshot !== undefined ? '--debian-snapshot' : DEBIAN_SNAPSHOT_ENV, cwd) }) };
}

/** A place under a base: a file path or a URL, with the label messages show. */
export function under(base: PlaceLocation, segments: string[]): PlaceLocation {
  if (base.kind === 'file') {
    const path = join(base.path, ...segments);
    return { kind: 'file', path, label: path };
  }
  const url = new URL(segments.map(encodeURIComponent).join('/'), base.url);
  return { kind: 'http', url, label: redactUrl(url) };
}

/**
 * Where a mirror may hold the blob of `hex` (sha256): `<base>/cas/<hex>`, the layout of
 * bazel-remote's HTTP cache and of `kiln vendor`; a folder may also be a kiln store
 * (`<root>/v1/cas/sha256/<2 hex>/<62 hex>`). Pure.
 * Example: mirrorLocations(https://c/x/, 'ab12…') → [https://c/x/cas/ab12…]
 */
export function mirrorLocations(mirror: Location, hex: string): Location[] {
  if (mirror.kind === 'cas') return [mirror];
  const cas = under(mirror, ['cas', hex]);
  return mirror.kind === 'file' ? [cas, under(mirror, ['v1', 'cas', 'sha256', hex.slice(0, 2), hex.slice(2)])] : [cas];
}

// A path in a Debian archive, as its indexes name files: relative, no `..`, no odd characters.
const ARCHIVE_PATH = /^pool\/(?:[A-Za-z0-9][A-Za-z0-9.+~_:-]*\/)+[A-Za-z0-9][A-Za-z0-9.+~_:-]*$/;
const ARCHIVE_NAME = /^[a-z0-9][a-z0-9._-]*$/;
const RESOLVED = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;
const SNAPSHOT_STAMP = /^\d{8}T\d{6}Z$/;

/** Whether a lock's snapshot coordinates are well-formed (they reach URLs and paths). Pure. */
export function snapshotRefProblem(ref: DebianSnapshotRef): string | undefined {
  if (!ARCHIVE_NAME.test(ref.archive)) return `archive ${JSON.stringify(ref.archive)} is not an archive name`;
  if (!ARCHIVE_PATH.test(ref.path) || ref.path.split('/').some((s) => s === '.' || s === '..')) return `path ${JSON.stringify(ref.path)} is not a pool path`;
  if (!RESOLVED.test(ref.resolved) || Number.isNaN(Date.parse(ref.resolved))) return `resolved ${JSON.stringify(ref.resolved)} is not an ISO 8601 UTC time (2025-06-01T12:00:00Z)`;
  return undefined;
}

/** `2025-06-01T12:00:00Z` → `20250601T120000Z`, the snapshot service's timestamp. Pure. */
export function snapshotStamp(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** An ISO time to the second, as the lock records `resolved`. Pure. */
export function resolvedTime(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The snapshot coordinates of a file apt names by URL (`apt-get … --print-uris`): the archive
 * is the last component of the repository's URI (`…/debian-security/` → debian-security, as
 * Debian's snapshot service names its archives; a repository that is itself a snapshot,
 * `…/archive/<name>/<stamp>/`, gives <name>), and the path is everything from `pool/`,
 * percent-decoded as the index writes it. Undefined for a file outside a pool (flat
 * repositories). Pure; the host is dropped.
 * Example: snapshotRefFromUri('http://h/debian-security/pool/updates/main/l/linux/x_1_amd64.deb', t)
 *   → { archive: 'debian-security', path: 'pool/updates/main/l/linux/x_1_amd64.deb', resolved: t }
 */
export function snapshotRefFromUri(uri: string, resolved: string): DebianSnapshotRef | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  const at = url.pathname.indexOf('/pool/');
  if (at === -1) return undefined;
  let path: string;
  try {
    path = url.pathname.slice(at + 1).split('/').map(decodeURIComponent).join('/');
  } catch {
    return undefined;
  }
  const base = url.pathname.slice(0, at).split('/').filter((s) => s !== '');
  const stamped = base.length >= 3 && base.at(-3) === 'archive' && SNAPSHOT_STAMP.test(base.at(-1)!);
  const archive = stamped ? base.at(-2) : base.at(-1);
  if (archive === undefined) return undefined;
  const ref = { archive: archive.toLowerCase(), path, resolved };
  return snapshotRefProblem(ref) === undefined ? ref : undefined;
}

/** A day: when the first stamp misses, the snapshot a day later is asked too (see snapshotLocations). */
const LATER_MS = 86_400_000;

/**
 * Where the snapshot service has a file: `<base>/archive/<archive>/<stamp>/<path>` at the time
 * the lock resolved it; the service answers with its newest import at or before that time.
 * A file published hours before `kiln lock` ran may not be in that import yet, so the
 * snapshot a day later is asked second (when that is not in the future). Pure.
 */
export function snapshotLocations(base: PlaceLocation, ref: DebianSnapshotRef, now: Date = new Date()): PlaceLocation[] {
  const at = new Date(ref.resolved);
  const times = [at, ...(at.getTime() + LATER_MS <= now.getTime() ? [new Date(at.getTime() + LATER_MS)] : [])];
  return times.map((t) => under(base, ['archive', ref.archive, snapshotStamp(t), ...ref.path.split('/')]));
}

/** One source tried for one pin, and why it did not yield the bytes. */
export interface SourceAttempt {
  source: string;
  reason: string;
}

/** The list a failure shows: one line per source, in the order tried. */
export function formatAttempts(attempts: SourceAttempt[]): string {
  return attempts.map((a) => `  - ${a.source}: ${a.reason}`).join('\n');
}

/** What to do when no source has a pin: said by every such failure. */
export function unavailableHint(name: string, debian: boolean): string {
  return (
    `if the upstream dropped this version, \`kiln lock --update ${name}\` pins what it serves now (a different build); ` +
    'or point kiln at a copy of the pinned bytes: --mirror DIR|URL (a `kiln vendor` folder or a shared cache; also $KILN_MIRRORS)' +
    (debian ? ', or --debian-snapshot URL (also $KILN_DEBIAN_SNAPSHOT) for a service with Debian\'s snapshot layout' : '')
  );
}
