import { stat } from 'node:fs/promises';
import PQueue from 'p-queue';
import type { InputSpec } from '../recipe/types.js';
import { REF, StoreError, TREE_MANIFEST_PREFIX } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { Digest } from '../util/digest.js';
import { KilnError } from '../util/errors.js';
import { debPurl, fetchDeb } from './deb.js';
import { debsrcPurl, fetchDebsrc } from './debsrc.js';
import { fetchGit, gitUri } from './git.js';
import { fetchNpm, npmPurl } from './npm.js';
import { FetchError, inputError, type FetchErrorCode } from './errors.js';
import type { Fetched } from './fetched.js';
import { assertUsableIntegrity } from './integrity.js';
import { redactUrl } from './http.js';
import { fetchFromMirror, fetchFromSnapshot, reasonOf } from './mirror.js';
import { formatAttempts, NO_SOURCES, unavailableHint, type SourceAttempt } from './sources.js';
import { fetchPath, pathUri, resolveInputPath } from './path.js';
import type { FetchedInput, FetchOptions, InputMount } from './types.js';
import { fetchUrl } from './url.js';

/** How many inputs are fetched at once. */
export const FETCH_CONCURRENCY = 4;

/** Ref namespaces: SRI → the blob (or folder tree) it pins; archive blob → its unpacked tree. */
/** A source package's .dsc blob → its unpacked source tree. */

/** For provenance `resolvedDependencies`. */
export function inputUri(spec: InputSpec): string {
  switch (spec.kind) {
    case 'path':
      return pathUri(spec);
    case 'url':
      return spec.url;
    case 'deb':
      return debPurl(spec.package, spec.version, spec.arch);
    case 'npm':
      return npmPurl(spec.package, spec.version);
    case 'git':
      return gitUri(spec.url, spec.commit);
    case 'debsrc':
      return debsrcPurl(spec.package, spec.version);
  }
}

/**
 * Makes one pinned input available in the store. Cache first: when the store already holds
 * what the SRI pins (ref `integrity`), nothing is downloaded or read. Otherwise the sources
 * are tried in order (see fetchFromSources), each streaming into the store verified against
 * the SRI before anything uses it, and the ref is recorded. `unpack: true` then extracts the
 * verified archive into a tree (cached by ref `unpacked`).
 */
export async function fetchInput(store: Store, spec: InputSpec, options: FetchOptions): Promise<FetchedInput> {
  try {
    assertUsableIntegrity(spec);
    // Before the store is asked: refused whatever the store already holds.
    if (options.allowFileUrls === false) assertNoFileUrl(spec);
    const hit = await store.getRef(REF.integrity, spec.integrity);
    let fetched: Fetched | undefined;
    if (hit) fetched = await fromCache(store, spec, hit, options);
    if (!fetched) {
      fetched = await fetchFromSources(store, spec, options);
      await store.setRef(REF.integrity, spec.integrity, fetched.digest);
    }
    const mount: InputMount = spec.unpack && fetched.mount.kind === 'file' ? { kind: 'tree', tree: await unpacked(store, spec, fetched.digest) } : fetched.mount;
    return {
      name: spec.name,
      kind: spec.kind,
      digest: fetched.digest,
      integrity: spec.integrity,
      size: fetched.size,
      uri: inputUri(spec),
      mount,
      cached: hit !== undefined && fetched !== undefined,
    };
  } catch (err) {
    throw toFetchError(spec, err, options.signal);
  }
}

/** Failures of a source, after which the next source is tried; any other error is about the input itself. */
const SOURCE_FAILURES: ReadonlySet<FetchErrorCode> = new Set([
  'KILN_FETCH_INTEGRITY',
  'KILN_FETCH_HTTP',
  'KILN_FETCH_NETWORK',
  'KILN_FETCH_NOT_FOUND',
  'KILN_FETCH_APT',
  'KILN_FETCH_NPM',
  'KILN_FETCH_GIT',
  'KILN_FETCH_IO',
]);

/**
 * The digest is the identity, not the source: configured mirrors first (content-addressed,
 * nearest to the user), then the upstream the recipe names, then, for Debian packages, the
 * snapshot service at the coordinates kiln.lock recorded. The first source whose bytes match
 * the pin wins; a source serving other bytes is refused and the next one tried. When none
 * yields them, the error keeps the upstream's code and lists every source with its reason.
 * A `path` input is local: only the path is read.
 */
export async function fetchFromSources(store: Store, spec: InputSpec, options: FetchOptions): Promise<Fetched> {
  const fetched = await trySources(store, spec, options);
  // However it came, a source package's .dsc leads to its unpacked tree next time.
  if (spec.kind === 'debsrc' && fetched.mount.kind === 'tree') await store.setRef(REF.debsrc, fetched.digest, fetched.mount.tree);
  return fetched;
}

async function trySources(store: Store, spec: InputSpec, options: FetchOptions): Promise<Fetched> {
  if (spec.kind === 'path') return fetchByKind(store, spec, options);
  const sources = options.sources ?? NO_SOURCES;
  const attempts: SourceAttempt[] = [{ source: 'store', reason: 'not there' }];
  for (const mirror of sources.mirrors) {
    const got = await fetchFromMirror(store, spec, mirror, options);
    if (typeof got !== 'string') return got;
    attempts.push({ source: `mirror ${mirror.label}`, reason: got });
  }
  let upstream: FetchError;
  try {
    return await fetchByKind(store, spec, options);
  } catch (err) {
    upstream = toFetchError(spec, err, options.signal);
    if (!SOURCE_FAILURES.has(upstream.code)) throw upstream;
  }
  attempts.push({ source: `upstream (${upstreamLabel(spec)})`, reason: reasonOf(spec, upstream) });
  const debian = spec.kind === 'deb' || spec.kind === 'debsrc';
  if (debian && sources.debianSnapshot) {
    const got = await fetchFromSnapshot(store, spec, sources.debianSnapshot, options);
    if (!Array.isArray(got)) return got;
    attempts.push(...got);
  }
  throw inputError(spec, upstream.code, `no source has the pinned bytes (${spec.integrity}):\n${formatAttempts(attempts)}`, {
    // The upstream's own cause (a StoreError, a spawn error): its message is in the list.
    cause: upstream.cause ?? upstream,
    ...(upstream.expected !== undefined && { expected: upstream.expected }),
    ...(upstream.found !== undefined && { found: upstream.found }),
    hint: `${upstream.hint ? `${upstream.hint}; ` : ''}${unavailableHint(spec.name, debian)}`,
    sources: attempts,
  });
}

/** The upstream as a failure names it. */
function upstreamLabel(spec: Exclude<InputSpec, { kind: 'path' }>): string {
  switch (spec.kind) {
    case 'url':
      return safeUrl(spec.url);
    case 'deb':
      return `apt: ${spec.package}:${spec.arch}=${spec.version}`;
    case 'npm':
      return `npm: ${spec.package}@${spec.version}`;
    case 'git':
      return `git: ${spec.url} ${spec.commit}`;
    case 'debsrc':
      return spec.dsc !== undefined ? safeUrl(spec.dsc) : `apt: source ${spec.package}=${spec.version}`;
  }
}

/** A URL as a message may show it: without credentials. */
function safeUrl(text: string): string {
  try {
    return redactUrl(text);
  } catch {
    return text;
  }
}

/** `file:` sources of a recipe (not `path` inputs, which are the user's own). */
function assertNoFileUrl(spec: InputSpec): void {
  const url = spec.kind === 'debsrc' ? spec.dsc : spec.kind === 'git' ? spec.url : undefined;
  if (url === undefined || !/^file:/i.test(url)) return;
  throw inputError(spec, 'KILN_FETCH_LOCAL_SOURCE', `refusing to read ${url}: local files enter a rebuild only as path inputs given with --input`, {
    hint: 'a rebuild reads http(s) sources and apt\'s deb-src sources; local files only as the recipe\'s path inputs, supplied with --input NAME=PATH',
  });
}

async function fetchByKind(store: Store, spec: InputSpec, options: FetchOptions): Promise<Fetched> {
  switch (spec.kind) {
    case 'path':
      return fetchPath(store, spec, options);
    case 'url':
      return fetchUrl(store, spec, options);
    case 'deb':
      return fetchDeb(store, spec, options);
    case 'npm':
      return fetchNpm(store, spec, options);
    case 'git':
      return fetchGit(store, spec, options);
    case 'debsrc': {
      const { tree, ...fetched } = await fetchDebsrc(store, spec, options);
      return { ...fetched, mount: { kind: 'tree', tree } };
    }
  }
}

/**
 * Rebuilds what the fetcher would have returned, from the store alone. A `path` input may
 * pin a file or a folder: a stat of the path (no read) says which, and gives the exec bit;
 * if the path is gone, a blob that is a tree manifest is taken as the folder.
 */
async function fromCache(store: Store, spec: InputSpec, digest: Digest, options: FetchOptions): Promise<Fetched | undefined> {
  const size = await store.sizeOf(digest);
  if (size === undefined) return undefined;
  const file = (executable: boolean): Fetched => ({ digest, size, mount: { kind: 'file', digest, size, executable } });
  // A git input's integrity pins its tree; a source package's pins its .dsc, whose unpacked
  // tree has its own ref (when that is gone, the input is fetched again: undefined).
  if (spec.kind === 'git') return { digest, size, mount: { kind: 'tree', tree: digest } };
  if (spec.kind === 'debsrc') {
    const tree = await store.getRef(REF.debsrc, digest);
    return tree && (await store.has(tree)) ? { digest, size, mount: { kind: 'tree', tree } } : undefined;
  }
  if (spec.kind !== 'path') return file(false);
  const info = await stat(resolveInputPath(spec, options.recipeDir)).catch(() => undefined);
  if (info?.isDirectory()) return { digest, size, mount: { kind: 'tree', tree: digest } };
  if (info?.isFile()) return file((info.mode & 0o111) !== 0);
  return (await startsLikeTree(store, digest)) ? { digest, size, mount: { kind: 'tree', tree: digest } } : file(false);
}

async function startsLikeTree(store: Store, digest: Digest): Promise<boolean> {
  const blob = await store.openRandomAccess(digest);
  try {
    let head = '';
    for await (const chunk of blob.stream(0, TREE_MANIFEST_PREFIX.length)) head += (chunk as Buffer).toString('latin1');
    if (head !== TREE_MANIFEST_PREFIX) return false;
  } finally {
    await blob.close();
  }
  return store.readTree(digest).then(() => true, () => false);
}

async function unpacked(store: Store, spec: InputSpec, blob: Digest): Promise<Digest> {
  const hit = await store.getRef(REF.unpacked, blob);
  if (hit) return hit;
  // Loaded on first use: inputs found in the store by integrity need no archive code.
  const { unpackArchive } = await import('../archive/index.js');
  const { digest } = await unpackArchive(store, blob, { label: spec.name });
  await store.setRef(REF.unpacked, blob, digest);
  return digest;
}

/** Every failure leaves as a FetchError naming the input and its place; the original is the cause. */
function toFetchError(spec: InputSpec, err: unknown, signal?: AbortSignal): FetchError {
  if (err instanceof FetchError) return err;
  if (err instanceof StoreError) {
    switch (err.code) {
      case 'KILN_STORE_INTEGRITY':
        return inputError(spec, 'KILN_FETCH_INTEGRITY', 'integrity check failed: the fetched bytes do not match the pinned SRI', {
          cause: err,
          expected: err.expected,
          found: err.found,
          hint: 'the source changed or was tampered with; if the change is intended, run `kiln lock`',
        });
      case 'KILN_STORE_ABORTED':
        return inputError(spec, 'KILN_FETCH_ABORTED', 'fetch aborted', { cause: err });
      case 'KILN_STORE_BAD_INTEGRITY':
        return inputError(spec, 'KILN_FETCH_BAD_INTEGRITY', err.message, { cause: err });
      default:
        return inputError(spec, 'KILN_FETCH_IO', err.message, { cause: err });
    }
  }
  if (signal?.aborted) return inputError(spec, 'KILN_FETCH_ABORTED', 'fetch aborted', { cause: err });
  if (err instanceof KilnError) {
    // From src/archive: reading the folder or unpacking the archive.
    return inputError(spec, 'KILN_FETCH_ARCHIVE', err.message, { cause: err, hint: err.hint, expected: err.expected, found: err.found });
  }
  const message = err instanceof Error ? err.message : String(err);
  return inputError(spec, 'KILN_FETCH_IO', message, { cause: err });
}

/**
 * Fetches inputs in parallel (FETCH_CONCURRENCY at once), keyed by name. On the first
 * failure the others are cancelled; once all have settled, that first error is thrown.
 */
export async function fetchInputs(store: Store, specs: InputSpec[], options: FetchOptions): Promise<Record<string, FetchedInput>> {
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const queue = new PQueue({ concurrency: FETCH_CONCURRENCY });
  let first: { error: unknown } | undefined;
  const results = await Promise.allSettled(
    specs.map((spec) =>
      queue.add(async () => {
        if (first) throw first.error;
        try {
          return await fetchInput(store, spec, { ...options, signal });
        } catch (error) {
          if (!first) {
            first = { error };
            controller.abort(error);
          }
          throw error;
        }
      }),
    ),
  );
  if (first) throw first.error;
  const out: Record<string, FetchedInput> = {};
  for (const result of results) if (result.status === 'fulfilled') out[result.value.name] = result.value;
  return out;
}
