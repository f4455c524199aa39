import { comparePaths, TREE_FORMAT, type TreeEntry, type TreeManifest } from '../store/tree.js';
import { REF } from '../store/refs.js';
import type { Store } from '../store/types.js';
import type { Digest } from '../util/digest.js';
import { mapLimit } from '../util/map-limit.js';
import { debRelations, dependencyClosure, type DebRelations } from './control.js';
import type { FetchedDeb } from './fetch.js';

/**
 * Top-level folders that live under /usr in a merged-/usr system: the stage-1 tree has them as
 * symlinks (`bin` → `usr/bin`), and package paths under them are moved below usr/, as
 * debootstrap lays out a root filesystem since bookworm.
 */
export const MERGED_USR_DIRS: readonly string[] = ['bin', 'lib', 'lib32', 'lib64', 'libx32', 'sbin'];
/** Always linked, even when no package ships files there (scripts name /bin/sh). */
const ALWAYS_LINKED = new Set(['bin', 'lib', 'sbin']);

/** The package folder's list files, as the assembly script reads them: the required set, then the rest. */
export const PACKAGES_REQUIRED = 'required';
export const PACKAGES_REST = 'rest';

/** .debs unpacked at once: xz runs in a child process while this process hashes another package's files. */
const UNPACK_CONCURRENCY = 3;

export interface DebianTreePart {
  package: string;
  manifest: TreeManifest;
}


/** `bin/ls` → `usr/bin/ls`; `bin` itself → undefined (the link is kiln's); other paths unchanged. */
export function mergedUsrPath(path: string): string | undefined {
  const slash = path.indexOf('/');
  const top = slash < 0 ? path : path.slice(0, slash);
  if (!MERGED_USR_DIRS.includes(top)) return path;
  return slash < 0 ? undefined : `usr/${path}`;
}

/**
 * The merged-/usr folders that need their top-level link: those always linked, and those
 * under which a package ships anything (`lib64/ld-linux-x86-64.so.2`). Sorted. Pure.
 */
export function mergedUsrLinks(parts: DebianTreePart[]): string[] {
  const used = new Set(ALWAYS_LINKED);
  for (const part of parts) {
    for (const entry of part.manifest.entries) {
      const slash = entry.path.indexOf('/');
      if (slash > 0 && MERGED_USR_DIRS.includes(entry.path.slice(0, slash))) used.add(entry.path.slice(0, slash));
    }
  }
  return MERGED_USR_DIRS.filter((top) => used.has(top));
}

/**
 * Stage 1 of assembly, pure: the data trees of the packages merged into one merged-/usr root
 * filesystem, plus `extra` entries (the dpkg skeleton). Like unpacking every package over the
 * same folder in `parts` order: a later file or link replaces an earlier one at the same path,
 * and a folder is never replaced by a file (dpkg would refuse that too). The folders of
 * `mergedUsrLinks(parts)` are links into usr/. Parents are added as folders; the result is a
 * valid `tree/v1` manifest.
 */
export function mergeDebianTrees(parts: DebianTreePart[], extra: TreeEntry[] = []): TreeManifest {
  const byPath = new Map<string, TreeEntry>();
  const put = (entry: TreeEntry): void => {
    const old = byPath.get(entry.path);
    if (old?.type === 'dir') return;
    if (old && entry.type === 'dir') return;
    byPath.set(entry.path, entry);
  };
  for (const part of parts) {
    for (const entry of part.manifest.entries) {
      const path = mergedUsrPath(entry.path);
      if (path !== undefined) put({ ...entry, path });
    }
  }
  for (const entry of extra) byPath.set(entry.path, entry);
  for (const top of mergedUsrLinks(parts)) {
    byPath.set(top, { path: top, type: 'symlink', target: `usr/${top}` });
    byPath.set(`usr/${top}`, { path: `usr/${top}`, type: 'dir' });
  }
  // Every parent a folder: a manifest lists them all.
  for (const path of [...byPath.keys()]) {
    let cut = path.lastIndexOf('/');
    while (cut > 0) {
      const parent = path.slice(0, cut);
      if (byPath.get(parent)?.type === 'dir') break;
      byPath.set(parent, { path: parent, type: 'dir' });
      cut = parent.lastIndexOf('/');
    }
  }
  const entries = [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
  return { kiln: TREE_FORMAT, entries };
}

/**
 * Names of the packages in the order the assembly script takes them: the required set, then
 * the rest; each sorted. Pure.
 */
export function packageLists(debs: Pick<FetchedDeb, 'pin'>[]): { required: string[]; rest: string[] } {
  const required = debs.filter((d) => d.pin.required).map((d) => d.pin.package).sort();
  const rest = debs.filter((d) => !d.pin.required).map((d) => d.pin.package).sort();
  return { required, rest };
}

/** The empty dpkg database and the folders a root filesystem starts with. */
async function dpkgSkeleton(store: Store): Promise<TreeEntry[]> {
  const empty = await store.putBytes('');
  const file = (path: string): TreeEntry => ({ path, type: 'file', mode: 0o644, digest: empty.digest, size: empty.size });
  return [
    file('var/lib/dpkg/status'),
    file('var/lib/dpkg/available'),
    ...['var/lib/dpkg/info', 'var/lib/dpkg/updates', 'etc/alternatives', 'tmp', 'root', 'dev', 'proc', 'sys'].map((path): TreeEntry => ({ path, type: 'dir' })),
  ];
}

/** The data tree of one .deb, unpacked once per blob (ref `deb-data`). */
async function debDataTree(store: Store, deb: FetchedDeb, label: string): Promise<TreeManifest> {
  const known = await store.getRef(REF.debData, deb.digest);
  if (known && (await store.has(known))) return store.readTree(known);
  const { unpackArchive } = await import('../archive/index.js');
  // Absolute links are data in a root filesystem: they resolve inside the container.
  const tree = await unpackArchive(store, deb.digest, { label: `${label}: ${deb.pin.package}`, format: 'deb', links: 'any' });
  await store.setRef(REF.debData, deb.digest, tree.digest);
  return tree.manifest;
}

/** The control files of `debs`, in their order, each read once per blob (ref `deb-control`); those not known yet are read together. */
async function debControls(store: Store, debs: FetchedDeb[], label: string): Promise<string[]> {
  const known = await eachDeb(debs, async (deb) => {
    const ref = await store.getRef(REF.debControl, deb.digest);
    return ref && (await store.has(ref)) ? (await store.readBlob(ref)).toString('utf8') : undefined;
  });
  const missing = debs.filter((_, i) => known[i] === undefined);
  const { readDebControls } = await import('../archive/index.js');
  const read = await readDebControls(store, missing.map((deb) => ({ digest: deb.digest, label: `${label}: ${deb.pin.package}` })));
  await eachDeb(missing.map((deb, i) => ({ deb, text: read[i]! })), async ({ deb, text }) => store.setRef(REF.debControl, deb.digest, (await store.putBytes(text)).digest));
  let next = 0;
  return known.map((text) => text ?? read[next++]!);
}

/** `fn` over `items`, UNPACK_CONCURRENCY at a time, results in order. */
function eachDeb<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  return mapLimit(items, UNPACK_CONCURRENCY, fn);
}

/** Every .deb's relations (its control file), in the order of `debs`. */
export async function debRelationsOf(store: Store, debs: FetchedDeb[], options: { label: string }): Promise<DebRelations[]> {
  const texts = await debControls(store, debs, options.label);
  return debs.map((deb, i) => ({ ...debRelations(texts[i]!), package: deb.pin.package }));
}

/**
 * The data trees of `debs`, in their order, each unpacked into the store once per .deb (ref
 * `deb-data`). A few .debs are read at once.
 */
export async function unpackDebs(store: Store, debs: FetchedDeb[], options: { label: string; signal?: AbortSignal }): Promise<DebianTreePart[]> {
  return eachDeb(debs, async (deb) => {
    options.signal?.throwIfAborted();
    return { package: deb.pin.package, manifest: await debDataTree(store, deb, options.label) };
  });
}

/**
 * The packages whose data the base tree holds: Debian's required set and everything it depends
 * on (libc6 is not itself required), as debootstrap extracts its base. Sorted. Pure.
 */
export function basePackages(debs: Pick<FetchedDeb, 'pin'>[], relations: DebRelations[]): string[] {
  return dependencyClosure(packageLists(debs).required, relations);
}

/**
 * Stage 1's tree: the merged data of the base packages, in the order the assembly script
 * installs them (required, then the rest, each sorted by name), and the dpkg skeleton. The other
 * packages are left to dpkg, which writes their files and folders once; the merged-/usr links
 * that only they use are made by the assembly step.
 */
export async function debianBaseTree(store: Store, parts: DebianTreePart[], lists: { required: string[]; rest: string[] }): Promise<TreeManifest> {
  const order = new Map([...lists.required, ...lists.rest].map((name, i) => [name, i]));
  const ordered = [...parts].sort((a, b) => order.get(a.package)! - order.get(b.package)!);
  return mergeDebianTrees(ordered, await dpkgSkeleton(store));
}

/**
 * The package folder the assembly step installs from (mounted read-only): every .deb as
 * `<package>.deb`, and the `required` and `rest` lists, one name per line. Pure given its inputs.
 */
export async function debianPackagesTree(store: Store, debs: FetchedDeb[]): Promise<Digest> {
  const text = async (body: string, path: string): Promise<TreeEntry> => {
    const put = await store.putBytes(body);
    return { path, type: 'file', mode: 0o644, digest: put.digest, size: put.size };
  };
  const lines = (names: string[]) => names.map((n) => `${n}\n`).join('');
  const { required, rest } = packageLists(debs);
  const entries: TreeEntry[] = [
    ...debs.map((d): TreeEntry => ({ path: `${d.pin.package}.deb`, type: 'file', mode: 0o644, digest: d.digest, size: d.size })),
    await text(lines(required), PACKAGES_REQUIRED),
    await text(lines(rest), PACKAGES_REST),
  ];
  return store.putTree({ kiln: TREE_FORMAT, entries: entries.sort((a, b) => comparePaths(a.path, b.path)) });
}
