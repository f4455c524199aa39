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
  /** A hard link to an earlier entry (`target` is an entry name): the file is copied in the manifest. Returns the entry placed. */
  addHardlink(name: string, target: string): TreeEntry;
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
  return new ManifestBuilder(options);
}

/** The builder's state: every node placed so far by path, and how many children each folder has. */
class ManifestBuilder implements TreeBuilder {
  private readonly nodes = new Map<string, Node>();
  private readonly childCount = new Map<string, number>();
  private readonly label: string;
  private readonly links: 'contained' | 'any';
  private readonly rooted: boolean;

  constructor(private readonly options: TreeBuilderOptions) {
    this.label = options.label;
    this.links = options.links;
    this.rooted = options.links === 'contained' && options.rootedAbsoluteLinks === true;
  }

  private unsafe(name: string, reason: string): never {
    throw entryError('KILN_ARCHIVE_UNSAFE_ENTRY', this.label, name, reason);
  }

  private normalize(name: string): string {
    if (name === '') this.unsafe(name, 'has an empty name');
    if (name.includes('\0')) this.unsafe(name, 'has a NUL byte in its name');
    if (name.startsWith('/')) this.unsafe(name, 'is an absolute path');
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) this.unsafe(name, 'climbs out of the tree with ..');
    const strip = this.options.strip;
    if (strip !== undefined) {
      if (parts[0] !== strip) this.unsafe(name, `is not inside ${JSON.stringify(`${strip}/`)}`);
      parts.shift();
    }
    return parts.join('/');
  }

  /** Every ancestor must be a folder (or absent, then created); never a symlink, never a file. */
  private checkParents(name: string, path: string): void {
    let at = path.indexOf('/');
    while (at !== -1) {
      const parent = path.slice(0, at);
      const node = this.nodes.get(parent);
      if (node?.type === 'symlink') this.unsafe(name, `would be written through the symlink ${JSON.stringify(parent)}`);
      if (node?.type === 'file') {
        throw entryError('KILN_ARCHIVE_CONFLICT', this.label, name, `needs ${JSON.stringify(parent)} to be a folder, but it is a file`);
      }
      at = path.indexOf('/', at + 1);
    }
  }

  checkPath(name: string): string {
    const path = this.normalize(name);
    this.checkParents(name, path);
    return path;
  }

  private ensureParents(path: string): void {
    const parent = parentOf(path);
    if (parent === '' || this.nodes.has(parent)) return;
    this.ensureParents(parent);
    this.insert(parent, { type: 'dir' });
  }

  private insert(path: string, node: Node): void {
    if (!this.nodes.has(path)) {
      const parent = parentOf(path);
      this.childCount.set(parent, (this.childCount.get(parent) ?? 0) + 1);
    }
    this.nodes.set(path, node);
  }

  /** Tar semantics: a later entry replaces an earlier one, unless that is a folder with children. */
  private place(name: string, node: Node): void {
    const path = this.checkPath(name);
    if (path === '') {
      if (node.type === 'dir') return;
      this.unsafe(name, 'would replace the root of the tree');
    }
    const existing = this.nodes.get(path);
    if (existing?.type === 'dir' && node.type !== 'dir' && (this.childCount.get(path) ?? 0) > 0) {
      throw entryError('KILN_ARCHIVE_CONFLICT', this.label, name, `is a ${node.type}, but an earlier folder of that name has entries`);
    }
    this.ensureParents(path);
    this.insert(path, node);
  }

  /** Lexical resolution of a link target from its folder: refused if it leaves the tree. */
  private checkTarget(name: string, path: string, target: string): void {
    if (target === '') this.unsafe(name, 'has an empty link target');
    if (target.includes('\0')) this.unsafe(name, 'has a NUL byte in its link target');
    if (this.links === 'any') return;
    if (target.startsWith('/') && !this.rooted) this.unsafe(name, `links to the absolute path ${JSON.stringify(target)}`);
    if (this.escapes(path, target, false)) this.unsafe(name, `links outside the tree (${JSON.stringify(target)})`);
  }

  /**
   * Resolves `target` as the kernel would from the folder of `linkPath`, following symlinks
   * of the tree itself (`follow`), and reports whether any step climbs above the root.
   * Lexical checks alone miss `up -> ..` followed by `x -> dir/up/../..`.
   */
  private escapes(linkPath: string, target: string, follow: boolean): boolean | 'loop' {
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
      const node = this.nodes.get(stack.join('/'));
      if (node?.type !== 'symlink') continue;
      if (++hops > MAX_LINK_HOPS) return 'loop';
      stack.pop();
      if (node.target.startsWith('/')) {
        if (!this.rooted) return true;
        stack.length = 0;
      }
      queue = [...node.target.split('/'), ...queue];
    }
    return false;
  }

  addFile(name: string, file: FileInfo): void {
    this.place(name, { type: 'file', mode: fileMode(file.mode), digest: file.digest, size: file.size });
  }

  addDir(name: string): void {
    const path = this.checkPath(name);
    if (this.nodes.get(path)?.type === 'dir') return;
    this.place(name, { type: 'dir' });
  }

  addSymlink(name: string, target: string): void {
    const path = this.checkPath(name);
    this.checkTarget(name, path, target);
    this.place(name, { type: 'symlink', target });
  }

  addHardlink(name: string, target: string): TreeEntry {
    const path = this.checkPath(name);
    if (target === '' || target.includes('\0')) this.unsafe(name, 'has an empty or NUL hard-link target');
    if (target.startsWith('/') && !this.rooted) this.unsafe(name, `is a hard link to the absolute path ${JSON.stringify(target)}`);
    if (target.split('/').includes('..')) this.unsafe(name, `is a hard link outside the tree (${JSON.stringify(target)})`);
    const parts = target.split('/').filter((p) => p !== '' && p !== '.');
    const strip = this.options.strip;
    if (strip !== undefined && parts.shift() !== strip) {
      this.unsafe(name, `is a hard link outside ${JSON.stringify(`${strip}/`)} (${JSON.stringify(target)})`);
    }
    const to = this.nodes.get(parts.join('/'));
    if (to?.type === 'file' || (to?.type === 'symlink' && this.links === 'any')) {
      this.place(name, { ...to });
      return { path, ...to };
    }
    this.unsafe(name, `is a hard link to ${JSON.stringify(target)}, which is not an earlier file of the archive`);
  }

  addSpecial(name: string, kind: SpecialKind): void {
    const path = this.checkPath(name);
    if (this.links === 'contained') this.unsafe(name, `is a ${kind}; inputs hold only files, folders and links`);
    // `any`: root filesystems carry /dev nodes; the engine provides /dev in containers. The
    // node goes, but the folders it implies stay, as they would on disk.
    if (path !== '') this.ensureParents(path);
  }

  finish(): TreeManifest {
    const entries: TreeEntry[] = [];
    for (const [path, node] of this.nodes) {
      if (node.type === 'symlink' && this.links === 'contained') {
        const verdict = this.escapes(path, node.target, true);
        if (verdict === 'loop') this.unsafe(path, 'starts a chain of more than 40 symlinks');
        if (verdict) this.unsafe(path, `links outside the tree once other links are followed (${JSON.stringify(node.target)})`);
      }
      entries.push({ path, ...node });
    }
    entries.sort((a, b) => comparePaths(a.path, b.path));
    return { kiln: TREE_FORMAT, entries };
  }
}

function parentOf(path: string): string {
  const at = path.lastIndexOf('/');
  return at === -1 ? '' : path.slice(0, at);
}

/** Only the exec bit is part of a tree; setuid/setgid/sticky and group/other write never survive. */
export function fileMode(mode: number): 0o644 | 0o755 {
  return (mode & 0o111) !== 0 ? 0o755 : 0o644;
}
