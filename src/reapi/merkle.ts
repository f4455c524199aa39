import { ArchiveError, type PackLayer, planPack } from '../archive/index.js';
import type { PackEntry } from '../archive/index.js';
import { comparePaths } from '../store/tree.js';
import type { Digest } from '../util/digest.js';
import { digestOfBytes, type ReapiDigest, toReapiDigest } from './digest.js';
import { ReapiError } from './errors.js';
import { encode, REAPI_PACKAGE } from './proto.js';
import { joinTree } from './tree-wire.js';

/**
 * One piece of an action's input root: a kiln tree, one file or an empty folder, at `prefix`
 * (`''` for the root). The same layers the Docker engine packs into a container's `/`
 * (archive's PackLayer); ownership and read-only bits have no REAPI form and are ignored here
 * (docs/remote-execution.md says what the farm does instead).
 */
export type InputLayer = Pick<PackLayer, 'prefix' | 'source'> & Partial<Pick<PackLayer, 'uid' | 'gid' | 'readOnly'>>;

/** A file blob the Merkle tree points at: kiln digest and size. */
export interface MerkleFile {
  digest: Digest;
  size: number;
}

/**
 * An input root (or output tree) as REAPI Directory messages: every distinct Directory once,
 * by hash, as the exact bytes whose sha256 is that hash, and every distinct file blob once.
 */
export interface MerkleTree {
  root: ReapiDigest;
  directories: Map<string, { digest: ReapiDigest; bytes: Buffer }>;
  files: Map<string, MerkleFile>;
}

interface DirNode {
  files: Map<string, { digest: Digest; size: number; executable: boolean }>;
  dirs: Map<string, DirNode>;
  symlinks: Map<string, string>;
}

const newDir = (): DirNode => ({ files: new Map(), dirs: new Map(), symlinks: new Map() });

function conflict(path: string, why: string): ReapiError {
  return new ReapiError('KILN_REAPI_BAD_TREE', `input root: ${path}: ${why}`);
}

/** Folds the flat, path-sorted entries into nested folders; a non-folder parent is a conflict. */
function nest(entries: PackEntry[]): DirNode {
  const root = newDir();
  const dirs = new Map<string, DirNode>([['', root]]);
  for (const e of entries) {
    const at = e.path.lastIndexOf('/');
    const parentPath = at === -1 ? '' : e.path.slice(0, at);
    const name = e.path.slice(at + 1);
    const parent = dirs.get(parentPath);
    if (!parent) throw conflict(e.path, `its parent ${parentPath} is not a folder`);
    if (name === '' || name === '.' || name === '..' || name.includes('\0')) throw conflict(e.path, 'is not a usable name');
    switch (e.type) {
      case 'dir': {
        const d = newDir();
        parent.dirs.set(name, d);
        dirs.set(e.path, d);
        break;
      }
      case 'file':
        parent.files.set(name, { digest: e.digest, size: e.size, executable: (e.mode & 0o111) !== 0 });
        break;
      case 'symlink':
        parent.symlinks.set(name, e.target);
        break;
    }
  }
  return root;
}

const byName = <T extends { name: string }>(a: T, b: T) => comparePaths(a.name, b.name);

/**
 * Encodes a folder and, first, its subfolders; records each Directory once. The REAPI's
 * canonical form: entries sorted by name (UTF-8 bytes), default values left out.
 */
function seal(node: DirNode, tree: MerkleTree): ReapiDigest {
  const files = [...node.files].map(([name, f]) => {
    tree.files.set(f.digest, { digest: f.digest, size: f.size });
    return { name, digest: reapiDigestObject(toReapiDigest(f.digest, f.size)), ...(f.executable && { isExecutable: true }) };
  });
  const directories = [...node.dirs].map(([name, d]) => ({ name, digest: reapiDigestObject(seal(d, tree)) }));
  const symlinks = [...node.symlinks].map(([name, target]) => ({ name, target }));
  const bytes = encode(`${REAPI_PACKAGE}.Directory`, {
    files: files.sort(byName),
    directories: directories.sort(byName),
    symlinks: symlinks.sort(byName),
  });
  const digest = digestOfBytes(bytes);
  tree.directories.set(digest.hash, { digest, bytes });
  return digest;
}

/** A Digest message without its default: an empty blob has no size field on the wire. */
function reapiDigestObject(d: ReapiDigest): object {
  return d.sizeBytes === 0 ? { hash: d.hash } : { hash: d.hash, sizeBytes: d.sizeBytes };
}

/**
 * The Merkle tree of an input root built from layers, pure: later layers replace earlier
 * entries of the same path and parents no layer provides become folders, exactly as the Docker
 * engine composes a container's `/` (archive's planPack), so a step sees the same tree locally
 * and on a farm. Identical folders are one Directory (a 150 MB image is uploaded once, ever).
 */
export function buildMerkleTree(layers: InputLayer[]): MerkleTree {
  let entries: PackEntry[];
  try {
    entries = planPack(layers.map((l) => ({ uid: 0, gid: 0, readOnly: false, ...l })));
  } catch (err) {
    if (err instanceof ArchiveError) throw new ReapiError('KILN_REAPI_BAD_TREE', `input root: ${err.message}`, { cause: err });
    throw err;
  }
  const tree: MerkleTree = { root: { hash: '', sizeBytes: 0 }, directories: new Map(), files: new Map() };
  tree.root = seal(nest(entries), tree);
  return tree;
}

/** Every blob of the tree (directories and files), for FindMissingBlobs. */
export function merkleBlobs(tree: MerkleTree): ReapiDigest[] {
  return [
    ...[...tree.directories.values()].map((d) => d.digest),
    ...[...tree.files.values()].map((f) => toReapiDigest(f.digest, f.size)),
  ];
}

/**
 * The REAPI Tree message of a Merkle tree (root Directory, then every other distinct Directory
 * sorted by hash): what an ActionResult's OutputDirectory points at.
 */
export function merkleTreeMessage(tree: MerkleTree): { bytes: Buffer; digest: ReapiDigest } {
  const root = tree.directories.get(tree.root.hash);
  if (!root) throw new Error('Merkle tree without its root directory');
  const children = [...tree.directories.values()]
    .filter((d) => d.digest.hash !== tree.root.hash)
    .sort((a, b) => (a.digest.hash < b.digest.hash ? -1 : a.digest.hash > b.digest.hash ? 1 : 0))
    .map((d) => d.bytes);
  const bytes = joinTree(root.bytes, children);
  return { bytes, digest: digestOfBytes(bytes) };
}
