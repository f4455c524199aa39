import type { DebianPackagePin, DebianSnapshotRef } from '../recipe/types.js';
import type { Digest } from '../util/digest.js';

/** The lock file's format tag. */
export const LOCK_FORMAT = 'lock/v1';
/** The lock's name, beside the recipe. */
export const LOCK_FILE_NAME = 'kiln.lock';

/**
 * An input's source as the recipe writes it: the keys that decide what is fetched (the
 * source key, `arch`, `ref`, `commit`, `dsc`, and `integrity` when written). `unpack` and
 * everything about steps stay out: editing them does not stale the lock.
 */
export type InputSource = Record<string, string>;

/** One resolved input. Fields besides kind/source/integrity depend on the kind. */
export interface LockedInput {
  kind: 'path' | 'url' | 'deb' | 'npm' | 'git' | 'debsrc';
  source: InputSource;
  /** The SRI the build verifies: of the bytes, of a tree manifest (path folder, git), or of the .dsc (debsrc). */
  integrity: string;
  /** npm: the exact version a range or tag resolved to. */
  version?: string;
  /** npm: the registry's tarball URL; deb, debsrc: the URL apt (or `dsc:`) named. Informational. */
  url?: string;
  /** git: the commit a ref resolved to. */
  commit?: string;
  /** debsrc: the files the .dsc pins. */
  files?: { name: string; sha256: string; size: number }[];
  /**
   * Hex sha256 of the pinned bytes when `integrity` names none (npm pins sha512): the key
   * content-addressed mirrors are looked up by. `kiln lock` hashes the bytes to record it.
   */
  sha256?: string;
  /** deb, debsrc (through apt): where Debian's snapshot archive has the .deb or the .dsc. */
  snapshot?: DebianSnapshotRef;
}

export interface Lock {
  kiln: typeof LOCK_FORMAT;
  recipe: {
    /**
     * sha256 of the canonical JSON of every input's source and every image as written
     * (`specsDigest`): a lock is stale exactly when this changes; steps, env and artifacts
     * are not part of it.
     */
    specs: Digest;
  };
  inputs: Record<string, LockedInput>;
  /** Images as pinned: `oci` refs are already exact (`name@sha256:…`); rootfs/step images name inputs and steps; debian images as written. */
  images: Record<string, { oci: string } | { rootfs: string } | { step: string } | { debian: DebianImageSource }>;
  /**
   * `debian` images resolved, by image name: every package of the closure (the packages, their
   * dependencies and the essential/required set), sorted by name. An entry applies only while
   * `images[name]` still equals the recipe's image.
   */
  debian?: Record<string, DebianPackagePin[]>;
}

/** A `debian` image's source as the recipe writes it. */
export interface DebianImageSource {
  packages: string[];
  arch: string;
}
