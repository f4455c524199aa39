import { comparePaths, TREE_FORMAT, type TreeEntry, type TreeManifest } from '../store/tree.js';
import { REF } from '../store/refs.js';
import type { Store } from '../store/types.js';
import type { Digest } from '../util/digest.js';
import type { FetchedDeb } from './fetch.js';

/**
 * Top-level folders that live under /usr in a merged-/usr system: the stage-1 tree has them as
 * symlinks (`bin` → `usr/bin`), and package paths under them are moved below usr/, as
 * debootstrap lays out a root filesystem since bookworm.
 */
export const MERGED_USR_DIRS: readonly string[] = ['bin', 'lib', 'lib32', 'lib64', 'libx32', 'sbin'];
/** Always linked, even when no package ships files there (scripts name /bin/sh). */
const ALWAYS_LINKED = new Set(['bin', 'lib', 'sbin']);

/** Where the assembly step finds the .debs and the package lists; removed before the rootfs is taken. */
export const DEB_CACHE_DIR = 'var/cache/kiln-debs';

/** Ref namespace: a .deb blob → the tree of its data.tar. */

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
 * Stage 1 of assembly, pure: the data trees of the packages merged into one merged-/usr root
 * filesystem, plus `extra` entries (the .debs, the dpkg skeleton). Like unpacking every
 * package over the same folder in `parts` order: a later file or link replaces an earlier one
 * at the same path, and a folder is never replaced by a file (dpkg would refuse that too).
 * Parents are added as folders; the result is a valid `tree/v1` manifest.
 */
export function mergeDebianTrees(parts: DebianTreePart[], extra: TreeEntry[] = []): TreeManifest {
  const byPath = new Map<string, TreeEntry>();
  const usedTops = new Set<string>();
  const put = (entry: TreeEntry): void => {
    const old = byPath.get(entry.path);
    if (old?.type === 'dir') return;
    if (old && entry.type === 'dir') return;
    byPath.set(entry.path, entry);
  };
  for (const part of parts) {
    for (const entry of part.manifest.entries) {
      const path = mergedUsrPath(entry.path);
      if (path === undefined) continue;
      if (path !== entry.path) usedTops.add(entry.path.split('/')[0]!);
      put({ ...entry, path });
    }
  }
  for (const entry of extra) byPath.set(entry.path, entry);
  for (const top of MERGED_USR_DIRS) {
    if (!ALWAYS_LINKED.has(top) && !usedTops.has(top)) continue;
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

/**
 * The stage-1 tree of a debian image, in the store: every package's data unpacked and merged
 * (enough for dpkg and the shell to run), an empty dpkg database, and the .debs themselves
 * with the package lists under /var/cache/kiln-debs for the assembly step to install. A pure
 * function of the pinned .debs: the same lock gives the same tree on any machine.
 */
export async function debianStage1Tree(store: Store, debs: FetchedDeb[], options: { label: string }): Promise<Digest> {
  const { unpackArchive } = await import('../archive/index.js');
  const parts: DebianTreePart[] = [];
  const { required, rest } = packageLists(debs);
  const order = new Map([...required, ...rest].map((name, i) => [name, i]));
  for (const deb of [...debs].sort((a, b) => order.get(a.pin.package)! - order.get(b.pin.package)!)) {
    let tree = await store.getRef(REF.debData, deb.digest);
    if (!tree || !(await store.has(tree))) {
      // Absolute links are data in a root filesystem: they resolve inside the container.
      tree = (await unpackArchive(store, deb.digest, { label: `${options.label}: ${deb.pin.package}`, format: 'deb', links: 'any' })).digest;
      await store.setRef(REF.debData, deb.digest, tree);
    }
    parts.push({ package: deb.pin.package, manifest: await store.readTree(tree) });
  }
  const text = async (body: string, path: string): Promise<TreeEntry> => {
    const put = await store.putBytes(body);
    return { path, type: 'file', mode: 0o644, digest: put.digest, size: put.size };
  };
  const list = (names: string[]) => names.map((n) => `${n}\n`).join('');
  const extra: TreeEntry[] = [
    ...debs.map((d): TreeEntry => ({ path: `${DEB_CACHE_DIR}/${d.pin.package}.deb`, type: 'file', mode: 0o644, digest: d.digest, size: d.size })),
    await text(list(required), `${DEB_CACHE_DIR}/required`),
    await text(list(rest), `${DEB_CACHE_DIR}/rest`),
    await text('', 'var/lib/dpkg/status'),
    await text('', 'var/lib/dpkg/available'),
    { path: 'var/lib/dpkg/info', type: 'dir' },
    { path: 'var/lib/dpkg/updates', type: 'dir' },
    { path: 'etc/alternatives', type: 'dir' },
    { path: 'tmp', type: 'dir' },
    { path: 'root', type: 'dir' },
    { path: 'dev', type: 'dir' },
    { path: 'proc', type: 'dir' },
    { path: 'sys', type: 'dir' },
  ];
  return store.putTree(mergeDebianTrees(parts, extra));
}
