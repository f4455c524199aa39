import { comparePaths, TREE_FORMAT, type TreeEntry, type TreeManifest } from '../store/tree.js';
import type { Digest } from '../util/digest.js';
import { entryError } from './errors.js';

export interface TreeBuilderOptions {
  /** The input or step the entries belong to: named in every error. */
  label: string;
  links: 'contained' | 'any';
  /**
   * With `contained`: an absolute symlink or hard-link target resolves from the tree's own
   * root instead of being rejected. A .deb payload is a root filesystem whose links are
   * written absolute (`/usr/bin/x -> /bin/y`); `..` past the root is still rejected.
   */
  rootedAbsoluteLinks?: boolean;
  /**
   * Entry names (and hard-link targets) must start with this component, which is dropped:
   * `out/x` becomes `x`, and `out` itself is the root.
   */
  strip?: string;
}

/** Entry kinds a tree never holds. */
export type SpecialKind = 'character-device' | 'block-device' | 'fifo' | 'socket';

export interface FileInfo {
  digest: Digest;
  size: number;
  /** Permission bits as found; only "any x bit set" survives. */
  mode: number;
}

/**
 * Collects archive or folder entries into a TreeManifest, applying the safety rules as each
 * entry arrives: nothing here touches a filesystem, so an unsafe entry is structurally unable
 * to write anywhere; it only makes `add*` throw. Names are given as written in the archive.
 */
export interface TreeBuilder {
  /** Normalizes an entry name and checks that it may be added; '' is the root. Throws ArchiveError. */
  checkPath(name: string): string;
  addFile(name: string, file: FileInfo): void;
  addDir(name: string): void;
  addSymlink(name: string, target: string): void;
  /** A hard link to an earlier entry (`target` is an entry name): the file is copied in the manifest. */
  addHardlink(name: string, target: string): void;
  /** Device nodes, FIFOs, sockets: an error with `contained`, skipped with `any`. */
  addSpecial(name: string, kind: SpecialKind): void;
  /** The manifest: sorted, every parent folder present, modes normalized; checks every link once more. */
  finish(): TreeManifest;
}

type Node =
  | { type: 'file'; mode: 0o644 | 0o755; digest: Digest; size: number }
  | { type: 'dir' }
  | { type: 'symlink'; target: string };

/** Linux gives up after 40 links in one lookup; a longer chain cannot be a working input. */
const MAX_LINK_HOPS = 40;

export function createTreeBuilder(options: TreeBuilderOptions): TreeBuilder {
  const { label, links } = options;
  const rooted = links === 'contained' && options.rootedAbsoluteLinks === true;
  const nodes = new Map<string, Node>();
  const childCount = new Map<string, number>();

  function unsafe(name: string, reason: string): never {
    throw entryError('KILN_ARCHIVE_UNSAFE_ENTRY', label, name, reason);
  }

  function normalize(name: string): string {
    if (name === '') unsafe(name, 'has an empty name');
    if (name.includes('\0')) unsafe(name, 'has a NUL byte in its name');
    if (name.startsWith('/')) unsafe(name, 'is an absolute path');
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) unsafe(name, 'climbs out of the tree with ..');
    if (options.strip !== undefined) {
      if (parts[0] !== options.strip) unsafe(name, `is not inside ${JSON.stringify(`${options.strip}/`)}`);
      parts.shift();
    }
    return parts.join('/');
  }

  /** Every ancestor must be a folder (or absent, then created); never a symlink, never a file. */
  function checkParents(name: string, path: string): void {
    let at = path.indexOf('/');
    while (at !== -1) {
      const parent = path.slice(0, at);
      const node = nodes.get(parent);
      if (node?.type === 'symlink') unsafe(name, `would be written through the symlink ${JSON.stringify(parent)}`);
      if (node?.type === 'file') {
        throw entryError('KILN_ARCHIVE_CONFLICT', label, name, `needs ${JSON.stringify(parent)} to be a folder, but it is a file`);
      }
      at = path.indexOf('/', at + 1);
    }
  }

  function checkPath(name: string): string {
    const path = normalize(name);
    checkParents(name, path);
    return path;
  }

  function parentOf(path: string): string {
    const at = path.lastIndexOf('/');
    return at === -1 ? '' : path.slice(0, at);
  }

  function ensureParents(path: string): void {
    const parent = parentOf(path);
    if (parent === '' || nodes.has(parent)) return;
    ensureParents(parent);
    insert(parent, { type: 'dir' });
  }

  function insert(path: string, node: Node): void {
    if (!nodes.has(path)) {
      const parent = parentOf(path);
      childCount.set(parent, (childCount.get(parent) ?? 0) + 1);
    }
    nodes.set(path, node);
  }

  /** Tar semantics: a later entry replaces an earlier one, unless that is a folder with children. */
  function place(name: string, node: Node): void {
    const path = checkPath(name);
    if (path === '') {
      if (node.type === 'dir') return;
      unsafe(name, 'would replace the root of the tree');
    }
    const existing = nodes.get(path);
    if (existing?.type === 'dir' && node.type !== 'dir' && (childCount.get(path) ?? 0) > 0) {
      throw entryError('KILN_ARCHIVE_CONFLICT', label, name, `is a ${node.type}, but an earlier folder of that name has entries`);
    }
    ensureParents(path);
    insert(path, node);
  }

  /** Lexical resolution of a link target from its folder: true if it leaves the tree. */
  function checkTarget(name: string, path: string, target: string): void {
    if (target === '') unsafe(name, 'has an empty link target');
    if (target.includes('\0')) unsafe(name, 'has a NUL byte in its link target');
    if (links === 'any') return;
    if (target.startsWith('/') && !rooted) unsafe(name, `links to the absolute path ${JSON.stringify(target)}`);
    if (escapes(path, target, false)) unsafe(name, `links outside the tree (${JSON.stringify(target)})`);
  }

  /**
   * Resolves `target` as the kernel would from the folder of `linkPath`, following symlinks
   * of the tree itself (`follow`), and reports whether any step climbs above the root.
   * Lexical checks alone miss `up -> ..` followed by `x -> dir/up/../..`.
   */
  function escapes(linkPath: string, target: string, follow: boolean): boolean | 'loop' {
    const stack = parentOf(linkPath) === '' ? [] : parentOf(linkPath).split('/');
    let queue = target.split('/');
    if (target.startsWith('/')) stack.length = 0;
    let hops = 0;
    while (queue.length > 0) {
      const part = queue.shift() as string;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (stack.length === 0) return true;
        stack.pop();
        continue;
      }
      stack.push(part);
      if (!follow) continue;
      const node = nodes.get(stack.join('/'));
      if (node?.type !== 'symlink') continue;
      if (++hops > MAX_LINK_HOPS) return 'loop';
      stack.pop();
      if (node.target.startsWith('/')) {
        if (!rooted) return true;
        stack.length = 0;
      }
      queue = [...node.target.split('/'), ...queue];
    }
    return false;
  }

  function fileMode(mode: number): 0o644 | 0o755 {
    // Only the exec bit is part of a tree; setuid/setgid/sticky and group/other write never survive.
    return (mode & 0o111) !== 0 ? 0o755 : 0o644;
  }

  return {
    checkPath,
    addFile(name, file) {
      place(name, { type: 'file', mode: fileMode(file.mode), digest: file.digest, size: file.size });
    },
    addDir(name) {
      const path = checkPath(name);
      if (nodes.get(path)?.type === 'dir') return;
      place(name, { type: 'dir' });
    },
    addSymlink(name, target) {
      const path = checkPath(name);
      checkTarget(name, path, target);
      place(name, { type: 'symlink', target });
    },
    addHardlink(name, target) {
      checkPath(name);
      if (target === '' || target.includes('\0')) unsafe(name, 'has an empty or NUL hard-link target');
      if (target.startsWith('/') && !rooted) unsafe(name, `is a hard link to the absolute path ${JSON.stringify(target)}`);
      if (target.split('/').includes('..')) unsafe(name, `is a hard link outside the tree (${JSON.stringify(target)})`);
      const parts = target.split('/').filter((p) => p !== '' && p !== '.');
      if (options.strip !== undefined && parts.shift() !== options.strip) {
        unsafe(name, `is a hard link outside ${JSON.stringify(`${options.strip}/`)} (${JSON.stringify(target)})`);
      }
      const to = nodes.get(parts.join('/'));
      if (to?.type === 'file' || (to?.type === 'symlink' && links === 'any')) {
        place(name, { ...to });
        return;
      }
      unsafe(name, `is a hard link to ${JSON.stringify(target)}, which is not an earlier file of the archive`);
    },
    addSpecial(name, kind) {
      const path = checkPath(name);
      if (links === 'contained') unsafe(name, `is a ${kind}; inputs hold only files, folders and links`);
      // `any`: root filesystems carry /dev nodes; the engine provides /dev in containers. The
      // node goes, but the folders it implies stay, as they would on disk.
      if (path !== '') ensureParents(path);
    },
    finish() {
      const entries: TreeEntry[] = [];
      for (const [path, node] of nodes) {
        if (node.type === 'symlink' && links === 'contained') {
          const verdict = escapes(path, node.target, true);
          if (verdict === 'loop') unsafe(path, 'starts a chain of more than 40 symlinks');
          if (verdict) unsafe(path, `links outside the tree once other links are followed (${JSON.stringify(node.target)})`);
        }
        entries.push({ path, ...node });
      }
      entries.sort((a, b) => comparePaths(a.path, b.path));
      return { kiln: TREE_FORMAT, entries };
    },
  };
}
