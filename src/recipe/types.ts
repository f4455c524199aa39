import type { SourceLocation } from '../util/errors.js';

/** Names of inputs, images, steps: safe as a single path component everywhere. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;

/** Fields every input kind shares. `integrity` is an SRI string (sha256/384/512). */
interface InputBase {
  name: string;
  /** SRI of the fetched bytes; for a folder `path`, of the folder's tree manifest. Required to build. */
  integrity: string;
  /** Extract an archive input (tar, tar.gz, tar.xz, tar.bz2, zip, deb) into a tree. */
  unpack: boolean;
  where: SourceLocation;
  /**
   * From kiln.lock, when `integrity` names no sha256 (npm pins sha512): the hex sha256 of the
   * same bytes, the key content-addressed mirrors are looked up by. Verified like `integrity`.
   */
  sha256?: string;
}

/**
 * Where Debian's snapshot archive keeps a package file, as `kiln lock` saw it: the archive's
 * name and the file's path in it (both from apt's index; never a host) and the time. With a
 * snapshot service configured, the file is `<base>/archive/<archive>/<time>/<path>`.
 */
export interface DebianSnapshotRef {
  /** The archive's name in the snapshot service: `debian`, `debian-security`, … */
  archive: string;
  /** `Filename` of the Packages (or Sources) index: `pool/main/h/hello/hello_2.10-3_amd64.deb`. */
  path: string;
  /** When `kiln lock` resolved it, ISO 8601 UTC to the second: `2025-06-01T12:00:00Z`. */
  resolved: string;
}

export interface PathInputSpec extends InputBase {
  kind: 'path';
  /** As written in the recipe: relative to the recipe's folder. */
  path: string;
}
export interface UrlInputSpec extends InputBase {
  kind: 'url';
  url: string;
}
export interface DebInputSpec extends InputBase {
  kind: 'deb';
  /** Binary package name, e.g. `busybox-static`. */
  package: string;
  /** Exact Debian version, e.g. `1:1.35.0-4+deb12u1+b1`. */
  version: string;
  /** Debian architecture, default `amd64`. */
  arch: string;
  /** From kiln.lock: where Debian's snapshot archive has the .deb. */
  snapshot?: DebianSnapshotRef;
}

/**
 * An npm package tarball, fetched through the user's npm client. `version` is exact once
 * pinned; unpinned (no integrity) it may be a range or dist-tag that `kiln lock` resolves.
 */
export interface NpmInputSpec extends InputBase {
  kind: 'npm';
  /** Package name, scoped or not: `left-pad`, `@scope/name`. */
  package: string;
  version: string;
  /** The registry's tarball URL as npm reported it when locked (informational: npm fetches). */
  tarball?: string;
}
/**
 * The tree of a git commit, without .git; `integrity` pins the tree manifest, like a folder.
 * `commit` is '' until `kiln lock` resolves `ref` (default HEAD).
 */
export interface GitInputSpec extends InputBase {
  kind: 'git';
  url: string;
  commit: string;
  ref?: string;
}
/**
 * A Debian source package: `integrity` pins the .dsc, whose Checksums-Sha256 pin every file
 * it lists; the input is the unpacked source tree `<source>-<upstream version>/`.
 */
export interface DebsrcInputSpec extends InputBase {
  kind: 'debsrc';
  /** Source package name, e.g. `hello`. */
  package: string;
  /** Exact Debian version, e.g. `2.10-3`. */
  version: string;
  /** URL of the .dsc when not fetched through apt's deb-src sources (http, https, file). */
  dsc?: string;
  /** From kiln.lock: where Debian's snapshot archive has the .dsc (the files it lists are beside it). */
  snapshot?: DebianSnapshotRef;
}

/** Variants by `kind`; handled by exhaustive switches. */
export type InputSpec = PathInputSpec | UrlInputSpec | DebInputSpec | NpmInputSpec | GitInputSpec | DebsrcInputSpec;

interface ImageBase {
  name: string;
  /** argv prefix the step's script is appended to; default `["/bin/sh", "-c"]`. */
  shell: string[];
  where: SourceLocation;
}
/** A root filesystem from an input: a rootfs tarball (unpacked) or a folder. */
export interface RootfsImageSpec extends ImageBase {
  kind: 'rootfs';
  input: string;
}
/** The output tree of an earlier step becomes the image. */
export interface StepImageSpec extends ImageBase {
  kind: 'step';
  step: string;
}
/** A registry image used by digest: `name@sha256:<hex>`. */
export interface OciImageSpec extends ImageBase {
  kind: 'oci';
  ref: string;
}
/**
 * One Debian binary package of a `debian` image as `kiln lock` resolved it: exact version,
 * architecture and the SHA256 from apt's signed index (as SRI). `url` is informational.
 */
export interface DebianPackagePin {
  package: string;
  version: string;
  arch: string;
  integrity: string;
  size: number;
  url?: string;
  /** Essential or Priority: required: part of the minbase set every debian image holds. */
  required: boolean;
  /** Where Debian's snapshot archive has the .deb (absent in locks written before kiln recorded it). */
  snapshot?: DebianSnapshotRef;
}
/**
 * A root filesystem assembled from Debian packages: `packages` and the essential/required
 * set, resolved by `kiln lock` into `pins` (empty until a lock is applied), unpacked and then
 * configured by dpkg inside a sandboxed step with no network.
 */
export interface DebianImageSpec extends ImageBase {
  kind: 'debian';
  packages: string[];
  arch: string;
  pins: DebianPackagePin[];
}
export type ImageSpec = RootfsImageSpec | StepImageSpec | OciImageSpec | DebianImageSpec;

export interface StepSpec {
  name: string;
  image: string;
  /** Input names, mounted read-only at /kiln/inputs/<name>. */
  inputs: string[];
  /** Step names whose output trees are mounted read-only at /kiln/steps/<name>. */
  needs: string[];
  run: string;
  /** Step-specific environment, added on top of the recipe's `env`. */
  env: Record<string, string>;
  /** `uid:gid` the script runs as; default `1000:1000`. */
  user: string;
  /** Rewrite tar and gzip files in the output canonically (DESIGN "Outputs are normalized"). */
  normalize: boolean;
  where: SourceLocation;
}

export interface ArtifactSpec {
  from: string;
  /** A glob within that step's output tree. */
  path: string;
  where: SourceLocation;
}

export interface Recipe {
  /** Absolute path of the recipe file. */
  file: string;
  /** Absolute path of the folder holding it: `path` inputs are relative to it. */
  dir: string;
  /** The recipe's bytes as read, and their digest: provenance embeds both. */
  text: string;
  digest: `sha256:${string}`;
  kiln: 1;
  name: string;
  version?: string;
  sourceDateEpoch: number;
  inputs: Record<string, InputSpec>;
  images: Record<string, ImageSpec>;
  env: Record<string, string>;
  steps: Record<string, StepSpec>;
  artifacts: ArtifactSpec[];
  /**
   * The kiln.lock whose pins were applied (loadBuildRecipe), when any: provenance should
   * record it beside the recipe, since the recipe text alone no longer pins every input.
   */
  lock?: { file: string; text: string; digest: `sha256:${string}` };
}

/** `-e`: a failing command fails the step, as CI systems do. */
export const DEFAULT_SHELL: readonly string[] = ['/bin/sh', '-e', '-c'];
export const DEFAULT_USER = '1000:1000';
