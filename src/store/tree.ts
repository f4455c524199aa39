import type { Digest } from '../util/digest.js';

/**
 * A tree manifest: the canonical description of a folder. Stored as a canonical-JSON blob in
 * the CAS; its digest is the tree's identity. Metadata that kiln normalizes away (mtime,
 * owner, permission bits other than the exec bit) is not recorded at all, so it cannot
 * differ. Paths are relative POSIX paths without `.`/`..` components or trailing slash,
 * sorted by byte order; every parent folder of an entry is itself an entry.
 *
 * Example: { "kiln": "tree/v1", "entries": [
 *   { "path": "bin", "type": "dir" },
 *   { "path": "bin/busybox", "type": "file", "mode": 493, "digest": "sha256:…", "size": 1982256 },
 *   { "path": "bin/sh", "type": "symlink", "target": "busybox" } ] }
 */
export const TREE_FORMAT = 'tree/v1';

export type TreeEntry =
  | { path: string; type: 'file'; mode: 0o644 | 0o755; digest: Digest; size: number }
  | { path: string; type: 'dir' }
  | { path: string; type: 'symlink'; target: string };

export interface TreeManifest {
  kiln: typeof TREE_FORMAT;
  entries: TreeEntry[];
}

/** Byte-order comparison of paths (not locale order): the same on every machine. */
export function comparePaths(a: string, b: string): number {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return Buffer.compare(ba, bb);
}
