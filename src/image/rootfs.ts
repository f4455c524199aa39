import { comparePaths, TREE_FORMAT, type TreeEntry, type TreeManifest } from '../store/tree.js';
import { canonicalJSON } from '../util/canonical-json.js';
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

/**
 * The package folder's file names, as the assembly script reads them: the package lists, and
 * the links and folders it creates before dpkg runs (`Stage1Layout`).
 */
export const PACKAGES_REQUIRED = 'required';
export const PACKAGES_REST = 'rest';
export const PACKAGES_USR_LINKS = 'usr-links';
export const PACKAGES_DIRS = 'dirs';

const SHAPE_FORMAT = 'deb-shape/v1';
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

/** The shape of one .deb's data (paths and kinds, no contents), read once per blob (ref `deb-shape`). */
async function debShape(store: Store, deb: FetchedDeb, label: string): Promise<TreeManifest> {
  const { readDebShape, SHAPE_DIGEST } = await import('../archive/index.js');
  // A package unpacked for another image's base already has its tree: the same paths.
  const tree = await store.getRef(REF.debData, deb.digest);
  if (tree && (await store.has(tree))) return store.readTree(tree);
  const known = await store.getRef(REF.debShape, deb.digest);
  if (known && (await store.has(known))) return shapeFromJSON((await store.readBlob(known)).toString('utf8'), SHAPE_DIGEST);
  const shape = await readDebShape(store, deb.digest, { label: `${label}: ${deb.pin.package}` });
  await store.setRef(REF.debShape, deb.digest, (await store.putBytes(shapeToJSON(shape))).digest);
  return shape;
}

/** A shape as stored: `{"kiln":"deb-shape/v1","entries":[["d","usr"],["f","usr/x"],["l","usr/y"]]}`. */
function shapeToJSON(shape: TreeManifest): string {
  return canonicalJSON({ kiln: SHAPE_FORMAT, entries: shape.entries.map((e) => [e.type[0], e.path]) });
}

function shapeFromJSON(text: string, fileDigest: Digest): TreeManifest {
  const value = JSON.parse(text) as { kiln?: unknown; entries?: unknown };
  if (value.kiln !== SHAPE_FORMAT || !Array.isArray(value.entries)) throw new TypeError('not a deb-shape/v1 record');
  const entries = (value.entries as [string, string][]).map(([t, path]): TreeEntry => {
    if (t === 'd') return { path, type: 'dir' };
    if (t === 'l') return { path, type: 'symlink', target: '' };
    return { path, type: 'file', mode: 0o644, digest: fileDigest, size: 0 };
  });
  return { kiln: TREE_FORMAT, entries };
}

/** The control file of one .deb, read once per blob (ref `deb-control`). */
async function debControl(store: Store, deb: FetchedDeb, label: string): Promise<string> {
  const known = await store.getRef(REF.debControl, deb.digest);
  if (known && (await store.has(known))) return (await store.readBlob(known)).toString('utf8');
  const { readDebControl } = await import('../archive/index.js');
  const text = await readDebControl(store, deb.digest, { label: `${label}: ${deb.pin.package}` });
  await store.setRef(REF.debControl, deb.digest, (await store.putBytes(text)).digest);
  return text;
}

/** `fn` over `items`, UNPACK_CONCURRENCY at a time, results in order. */
function eachDeb<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  return mapLimit(items, UNPACK_CONCURRENCY, fn);
}

/** Every .deb's relations (its control file), in the order of `debs`. */
export async function debRelationsOf(store: Store, debs: FetchedDeb[], options: { label: string }): Promise<DebRelations[]> {
  return eachDeb(debs, async (deb) => ({ ...debRelations(await debControl(store, deb, options.label)), package: deb.pin.package }));
}

export interface UnpackDebsOptions {
  label: string;
  /** Packages whose data is unpacked into the store; the others are only read for their shape. */
  full: ReadonlySet<string>;
  /** Called once every package of `full` is unpacked (the shapes may still be read). */
  onFull?: (parts: DebianTreePart[]) => void | Promise<void>;
}

/**
 * The parts of stage 1, in the order of `debs`: the data trees of the `full` packages
 * (unpacked first) and the shapes of the others. A few .debs are read at once.
 */
export async function unpackDebs(store: Store, debs: FetchedDeb[], options: UnpackDebsOptions): Promise<DebianTreePart[]> {
  const full = debs.filter((d) => options.full.has(d.pin.package));
  const shaped = debs.filter((d) => !options.full.has(d.pin.package));
  const byName = new Map<string, DebianTreePart>();
  // The shapes start only as workers free up from the unpacking, so the full trees come first.
  const fullDone = eachDeb(full, async (deb) => {
    const part = { package: deb.pin.package, manifest: await debDataTree(store, deb, options.label) };
    byName.set(part.package, part);
    return part;
  }).then(async (parts) => {
    await options.onFull?.(parts);
  });
  const shapesDone = fullDone.then(() =>
    eachDeb(shaped, async (deb) => {
      byName.set(deb.pin.package, { package: deb.pin.package, manifest: await debShape(store, deb, options.label) });
    }),
  );
  await Promise.all([fullDone, shapesDone]);
  return debs.map((d) => byName.get(d.pin.package)!);
}

/**
 * The packages whose data the base tree holds: Debian's required set and everything it depends
 * on (libc6 is not itself required), as debootstrap extracts its base. Sorted. Pure.
 */
export function basePackages(debs: Pick<FetchedDeb, 'pin'>[], relations: DebRelations[]): string[] {
  return dependencyClosure(packageLists(debs).required, relations);
}

/** How stage 1 splits an image: what the base tree holds, and what the assembly step prepares before dpkg runs. */
export interface Stage1Layout {
  /** The merged data of the base packages and the dpkg skeleton. */
  base: TreeManifest;
  /** Merged-/usr folders that only other packages use: linked by the step (`lib32` → `usr/lib32`). */
  links: string[];
  /**
   * Every folder the other packages ship that the base lacks, created by the step before dpkg
   * runs, as if all data were extracted: dpkg leaves an existing folder's owner and mode alone,
   * but a folder it creates for another user (`man:man /var/cache/man`) would need CAP_FOWNER.
   */
  dirs: string[];
}

/**
 * Stage 1 of assembly, pure: `parts` in the order the assembly script installs them (required,
 * then the rest, each sorted by name), the names of the base packages, and the dpkg skeleton.
 * The base tree and the full merge of every package have the same folders and links; only the
 * files (and links) of packages outside the base are left for dpkg to write, once.
 */
export function layoutDebianStage1(parts: DebianTreePart[], base: ReadonlySet<string>, skeleton: TreeEntry[]): Stage1Layout {
  const baseParts = parts.filter((p) => base.has(p.package));
  const baseTree = mergeDebianTrees(baseParts, skeleton);
  const full = mergeDebianTrees(parts, skeleton);
  const baseLinks = new Set(mergedUsrLinks(baseParts));
  const inBase = new Map(baseTree.entries.map((e) => [e.path, e.type]));
  // A folder under something the base has as a file or link is left to dpkg.
  const blocked = (path: string): boolean => {
    for (let cut = path.indexOf('/'); cut > 0; cut = path.indexOf('/', cut + 1)) {
      const type = inBase.get(path.slice(0, cut));
      if (type !== undefined && type !== 'dir') return true;
    }
    return false;
  };
  const dirs = full.entries
    .filter((e) => e.type === 'dir' && !inBase.has(e.path) && !e.path.includes('\n') && !blocked(e.path))
    .map((e) => e.path);
  return { base: baseTree, links: mergedUsrLinks(parts).filter((top) => !baseLinks.has(top)), dirs };
}

/** `layoutDebianStage1` of unpacked packages, with the skeleton put in the store. */
export async function debianStage1Layout(store: Store, parts: DebianTreePart[], lists: { required: string[]; rest: string[] }, base: ReadonlySet<string>): Promise<Stage1Layout> {
  const order = new Map([...lists.required, ...lists.rest].map((name, i) => [name, i]));
  const ordered = [...parts].sort((a, b) => order.get(a.package)! - order.get(b.package)!);
  return layoutDebianStage1(ordered, base, await dpkgSkeleton(store));
}

/**
 * The package folder the assembly step installs from (mounted read-only): every .deb as
 * `<package>.deb`, the `required` and `rest` lists, and the layout's `usr-links` and `dirs`,
 * one per line. Pure given its inputs.
 */
export async function debianPackagesTree(store: Store, debs: FetchedDeb[], layout: Pick<Stage1Layout, 'links' | 'dirs'>): Promise<Digest> {
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
    await text(lines(layout.links), PACKAGES_USR_LINKS),
    await text(lines(layout.dirs), PACKAGES_DIRS),
  ];
  return store.putTree({ kiln: TREE_FORMAT, entries: entries.sort((a, b) => comparePaths(a.path, b.path)) });
}
