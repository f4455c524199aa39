import { pathToFileURL } from 'node:url';
import type { DebInputSpec, DebsrcInputSpec, GitInputSpec, InputSpec } from '../recipe/types.js';
import { parseTreeManifest } from '../store/validate.js';
import type { Store } from '../store/types.js';
import { digestHex, type Digest } from '../util/digest.js';
import { putFromLocation, putFromMirror, saveFromMirror, type BlobExpectation } from './blob-source.js';
import { fetchDebsrc } from './debsrc.js';
import { FetchError, inputError, inputPrefix } from './errors.js';
import type { Fetched } from './fetched.js';
import { pinSha256 } from './integrity.js';
import { snapshotLocations, type Location, type PlaceLocation, type SourceAttempt } from './sources.js';
import type { FetchOptions } from './types.js';

/** The pinned bytes of an input, through content-addressed mirrors (not `path`: it is local). */
type MirroredSpec = Exclude<InputSpec, { kind: 'path' }>;

/** A failure's reason without the `input "x" (file:line): ` every input error starts with. */
export function reasonOf(spec: InputSpec, err: FetchError): string {
  const prefix = inputPrefix(spec);
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
}

/**
 * Fetches an input from one mirror, verified as from its upstream. Resolves to what the
 * fetcher would have returned, or to the reason this mirror did not yield it.
 *  - url, npm, deb: the blob under the pin's sha256;
 *  - debsrc: the .dsc under the pin's sha256, then every file it lists under its own;
 *  - git: the tree manifest under the pin's sha256, then every file blob it names.
 */
export async function fetchFromMirror(store: Store, spec: MirroredSpec, mirror: Location, options: FetchOptions): Promise<Fetched | string> {
  const sha256 = pinSha256(spec);
  if (sha256 === undefined) return `the pin names no sha256 to look it up by (\`kiln lock --update ${spec.name}\` records one)`;
  const transfer = { ...(options.signal && { signal: options.signal }), onProgress: (n: number) => options.onProgress?.(spec.name, n) };
  switch (spec.kind) {
    case 'url':
    case 'npm':
    case 'deb': {
      const got = await putFromMirror(store, mirror, { sha256, integrity: spec.integrity }, transfer);
      if (!got.ok) return got.reason;
      return { digest: got.put.digest, size: got.put.size, mount: { kind: 'file', digest: got.put.digest, size: got.put.size, executable: false } };
    }
    case 'debsrc':
      return fetchDebsrcFrom(store, spec, options, {
        kind: 'blobs',
        save: async (hex, size, dest) => {
          const got = await saveFromMirror(mirror, dest, { sha256: hex, ...(size !== undefined && { size }) }, options.signal);
          if (!got.ok) throw inputError(spec, got.missing ? 'KILN_FETCH_NOT_FOUND' : 'KILN_FETCH_IO', hex === sha256 ? `the .dsc: ${got.reason}` : `blob ${hex}: ${got.reason}`);
        },
      });
    case 'git':
      return fetchTreeFromMirror(store, spec, mirror, sha256, options);
  }
}

/** The source package through `origin`; a FetchError becomes the reason this source failed. */
async function fetchDebsrcFrom(store: Store, spec: DebsrcInputSpec, options: FetchOptions, origin: Parameters<typeof fetchDebsrc>[3]): Promise<Fetched | string> {
  try {
    const { tree, ...fetched } = await fetchDebsrc(store, spec, options, origin);
    return { ...fetched, mount: { kind: 'tree', tree } };
  } catch (err) {
    if (options.signal?.aborted || !(err instanceof FetchError)) throw err;
    return reasonOf(spec, err);
  }
}

/** A git input's tree: its manifest (checked against the pin) and then each file it names. */
async function fetchTreeFromMirror(store: Store, spec: GitInputSpec, mirror: Location, sha256: string, options: FetchOptions): Promise<Fetched | string> {
  const transfer = options.signal ? { signal: options.signal } : {};
  const manifest = await putFromMirror(store, mirror, { sha256, integrity: spec.integrity }, transfer);
  if (!manifest.ok) return manifest.reason;
  let entries;
  try {
    entries = parseTreeManifest(await store.readBlob(manifest.put.digest)).entries;
  } catch (err) {
    return `the pinned blob is not a tree manifest: ${(err as Error).message}`;
  }
  for (const entry of entries) {
    if (entry.type !== 'file' || (await store.has(entry.digest as Digest))) continue;
    const expect: BlobExpectation = { sha256: digestHex(entry.digest as Digest), size: entry.size };
    const got = await putFromMirror(store, mirror, expect, transfer);
    if (!got.ok) return `the tree is there but not ${entry.path}: ${got.reason}`;
  }
  return { digest: manifest.put.digest, size: manifest.put.size, mount: { kind: 'tree', tree: manifest.put.digest } };
}

/**
 * Fetches a Debian package input from a service with the snapshot archive's layout, at the
 * coordinates the lock recorded. Resolves to what the fetcher would return, or to every
 * place tried and why it failed.
 */
export async function fetchFromSnapshot(store: Store, spec: DebInputSpec | DebsrcInputSpec, base: PlaceLocation, options: FetchOptions): Promise<Fetched | SourceAttempt[]> {
  if (spec.snapshot === undefined) {
    return [{ source: `Debian snapshot ${base.label}`, reason: `the lock records no snapshot path for this pin (\`kiln lock --update ${spec.name}\` records one while apt still has it)` }];
  }
  const attempts: SourceAttempt[] = [];
  for (const at of snapshotLocations(base, spec.snapshot)) {
    let got: Fetched | string;
    if (spec.kind === 'deb') {
      const sha256 = pinSha256(spec);
      if (sha256 === undefined) return [{ source: `Debian snapshot ${base.label}`, reason: 'the pin names no sha256' }];
      const put = await putFromLocation(store, at, { sha256, integrity: spec.integrity }, { ...(options.signal && { signal: options.signal }), onProgress: (n) => options.onProgress?.(spec.name, n) });
      got = put.ok ? { digest: put.put.digest, size: put.put.size, mount: { kind: 'file', digest: put.put.digest, size: put.put.size, executable: false } } : put.reason;
    } else {
      const dsc = at.kind === 'file' ? pathToFileURL(at.path).href : at.url.href;
      got = await fetchDebsrcFrom(store, spec, options, { kind: 'url', dsc });
    }
    if (typeof got !== 'string') return got;
    attempts.push({ source: `Debian snapshot ${at.label}`, reason: got });
  }
  return attempts;
}
