import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchFromSources, fetchInputs, parseDsc, resolveSources, type FetchOptions, type SourceOptions } from '../fetch/index.js';
import type { DebsrcInputSpec, GitInputSpec, InputSpec, Recipe } from '../recipe/types.js';
import { createStore, parseTreeManifest, type Store } from '../store/index.js';
import { digestHex, HASH_CHUNK_BYTES, toDigest, type Digest } from '../util/digest.js';
import { sriFromSha256Hex } from '../util/integrity.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import { VendorError } from './errors.js';
import { mergeVendorIndexes, parseVendorIndex, VENDOR_FORMAT, VENDOR_INDEX_FILE, vendorIndexToText, type VendorBlob, type VendorIndex, type VendorUse } from './format.js';

export interface VendorOptions {
  /** A recipe file, a folder holding `kiln.yaml` (its kiln.lock applies), or a parsed recipe. */
  recipe: string | Recipe;
  /** The vendored folder: `cas/<sha256 hex>` and `index.json`; an existing one is added to. */
  out: string;
  store?: Store;
  /** Where the bytes may come from besides the store and upstream (a second vendored folder, a cache). */
  sources?: SourceOptions;
  signal?: AbortSignal;
}

export interface VendorResult {
  out: string;
  /** Blobs this recipe needs, all now in the folder. */
  blobs: number;
  /** Their bytes. */
  bytes: number;
  /** Blobs copied now (the rest were there already, verified). */
  copied: number;
}

interface Wanted {
  digest: Digest;
  integrity?: string;
  uses: VendorUse[];
}

/**
 * `kiln vendor`: every pinned input and every Debian package of a recipe (with its lock),
 * fetched through the usual sources into the store, then copied into `out/cas/<sha256 hex>`
 * (bazel-remote's HTTP layout, so one folder or server serves `kiln build --mirror` and a
 * shared cache) with `out/index.json` saying what each blob is. `path` inputs are not copied:
 * they live in the recipe's own folder. Every copy is hashed while written and renamed into
 * place only when it matches; the index is written last, atomically.
 */
export async function vendorRecipe(options: VendorOptions): Promise<VendorResult> {
  const recipe = typeof options.recipe === 'string' ? await (await import('../lock/index.js')).loadBuildRecipe(options.recipe) : options.recipe;
  const sources = resolveSources(options.sources);
  const store = options.store ?? (await createStore());
  const fetchOptions: FetchOptions = { recipeDir: recipe.dir, sources, ...(options.signal && { signal: options.signal }) };
  const specs = Object.values(recipe.inputs).filter((s) => s.kind !== 'path');
  const fetched = await fetchInputs(store, specs, fetchOptions);
  const wanted = new Map<string, Wanted>();
  const want = (digest: Digest, use: VendorUse, integrity?: string) => {
    const hex = digestHex(digest);
    const entry = wanted.get(hex) ?? { digest, uses: [] };
    entry.uses.push(use);
    if (integrity !== undefined) entry.integrity = integrity;
    wanted.set(hex, entry);
  };
  for (const spec of specs) {
    const use = { recipe: recipe.name, input: spec.name, kind: spec.kind as VendorUse['kind'], ref: refOf(spec) };
    const digest = fetched[spec.name]!.digest;
    want(digest, use, spec.integrity);
    if (spec.kind === 'debsrc') for (const [file, blob] of await sourceFiles(store, spec, digest, fetchOptions)) want(blob, { ...use, file });
    if (spec.kind === 'git') for (const [file, blob] of await treeFiles(store, spec, digest, fetchOptions)) want(blob, { ...use, file });
  }
  const image = await import('../image/index.js');
  for (const spec of Object.values(recipe.images)) {
    if (spec.kind !== 'debian') continue;
    const debs = await image.fetchDebianPackages(store, spec.pins, { sources, image: spec.name, ...(options.signal && { signal: options.signal }) });
    for (const deb of debs) {
      want(deb.digest, { recipe: recipe.name, image: spec.name, kind: 'deb', ref: `${deb.pin.package}=${deb.pin.version}:${deb.pin.arch}` }, deb.pin.integrity);
    }
  }

  const cas = join(options.out, 'cas');
  await mkdir(cas, { recursive: true }).catch((err: Error) => {
    throw new VendorError('KILN_VENDOR_IO', `cannot create ${cas}: ${err.message}`, { cause: err });
  });
  const added: VendorIndex = { kiln: VENDOR_FORMAT, blobs: {} };
  let bytes = 0;
  let copied = 0;
  for (const [hex, w] of [...wanted].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const copy = await copyBlob(store, w.digest, join(cas, hex));
    bytes += copy.size;
    if (copy.copied) copied++;
    const extra = (w.integrity ?? '').split(/\s+/).filter((t) => t !== '' && !t.startsWith('sha256-') && !t.startsWith('sha512-'));
    const blob: VendorBlob = { size: copy.size, integrity: [copy.integrity, ...extra].join(' '), uses: w.uses };
    added.blobs[hex] = blob;
  }
  const indexFile = join(options.out, VENDOR_INDEX_FILE);
  const existing = await readFile(indexFile, 'utf8').then(
    (text) => parseVendorIndex(text, indexFile),
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw new VendorError('KILN_VENDOR_IO', `cannot read ${indexFile}: ${err.message}`, { cause: err });
    },
  );
  await writeFileAtomic(indexFile, vendorIndexToText(existing ? mergeVendorIndexes(existing, added) : added));
  return { out: options.out, blobs: wanted.size, bytes, copied };
}

/** What an input's pin names, for the index. */
function refOf(spec: Exclude<InputSpec, { kind: 'path' }>): string {
  switch (spec.kind) {
    case 'url':
      return spec.url;
    case 'deb':
      return `${spec.package}=${spec.version}:${spec.arch}`;
    case 'npm':
      return `${spec.package}@${spec.version}`;
    case 'git':
      return `${spec.url}@${spec.commit}`;
    case 'debsrc':
      return `${spec.package}=${spec.version}`;
  }
}

/**
 * The files a source package's .dsc lists, each in the store. A store that kept the unpacked
 * tree but lost a tarball (gc) gets the package again through the sources.
 */
async function sourceFiles(store: Store, spec: DebsrcInputSpec, dsc: Digest, options: FetchOptions): Promise<[string, Digest][]> {
  const parsed = parseDsc((await store.readBlob(dsc)).toString('utf8'));
  if (typeof parsed === 'string') throw new VendorError('KILN_VENDOR_IO', `input "${spec.name}": its .dsc is unusable: ${parsed}`);
  const files = parsed.files.map((f): [string, Digest] => [f.name, toDigest(f.sha256)]);
  if (!(await allIn(store, files))) await fetchFromSources(store, spec, options);
  return files;
}

/** The file blobs of a git input's tree, each in the store (fetched again when gc took one). */
async function treeFiles(store: Store, spec: GitInputSpec, manifest: Digest, options: FetchOptions): Promise<[string, Digest][]> {
  const entries = parseTreeManifest(await store.readBlob(manifest)).entries;
  const files = entries.flatMap((e): [string, Digest][] => (e.type === 'file' ? [[e.path, e.digest]] : []));
  if (!(await allIn(store, files))) await fetchFromSources(store, spec, options);
  return files;
}

async function allIn(store: Store, files: [string, Digest][]): Promise<boolean> {
  for (const [, digest] of files) if (!(await store.has(digest))) return false;
  return true;
}

/**
 * Copies a store blob to `dest`, hashing sha256 and sha512 in the same pass; renamed into place
 * only when the sha256 matches. An existing `dest` with the right bytes is kept (and hashed for
 * the index); a wrong one is replaced.
 */
async function copyBlob(store: Store, digest: Digest, dest: string): Promise<{ size: number; integrity: string; copied: boolean }> {
  const present = await hashFile(dest).catch(() => undefined);
  if (present && present.sha256 === digestHex(digest)) return { size: present.size, integrity: present.integrity, copied: false };
  const temp = `${dest}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const sha256 = createHash('sha256');
  const sha512 = createHash('sha512');
  let size = 0;
  const handle = await open(temp, 'wx', 0o644);
  try {
    for await (const chunk of store.openBlob(digest) as AsyncIterable<Buffer>) {
      sha256.update(chunk);
      sha512.update(chunk);
      size += chunk.length;
      await handle.write(chunk);
    }
    await handle.close();
    const hex = sha256.digest('hex');
    if (hex !== digestHex(digest)) throw new VendorError('KILN_VENDOR_IO', `the store's blob ${digest} reads as sha256:${hex}`, { hint: 'run `kiln cache verify`' });
    await rename(temp, dest);
    return { size, integrity: `${sriFromSha256Hex(hex)} sha512-${sha512.digest('base64')}`, copied: true };
  } catch (err) {
    await handle.close().catch(() => undefined);
    if (err instanceof VendorError) throw err;
    throw new VendorError('KILN_VENDOR_IO', `cannot write ${dest}: ${(err as Error).message}`, { cause: err });
  } finally {
    await rm(temp, { force: true });
  }
}

/** sha256 hex, SRI of sha256 and sha512, and size of a file, in one pass. */
export async function hashFile(path: string): Promise<{ sha256: string; integrity: string; size: number }> {
  const sha256 = createHash('sha256');
  const sha512 = createHash('sha512');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: HASH_CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    sha256.update(chunk);
    sha512.update(chunk);
    size += chunk.length;
  }
  const raw = sha256.digest();
  return { sha256: raw.toString('hex'), integrity: `sha256-${raw.toString('base64')} sha512-${sha512.digest('base64')}`, size };
}
