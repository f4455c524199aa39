import type { Store } from '../store/types.js';
import type { Digest } from '../util/digest.js';

/**
 * The hardening profile: data in `sandbox/profile.json` (where an auditor reads it), in kiln's
 * terms, loaded and validated by `loadSandboxProfile()`; every backend enforces it its own way
 * (Docker: HostConfig; a farm: what kiln asks of it). Its digest enters every action key.
 */
export interface SandboxProfile {
  version: 2;
  hostname: string;
  domainname: string;
  /** Always `none`: a step has no network at all, not even to the host. */
  network: 'none';
  /** Capabilities every step keeps, beyond none at all; empty in the shipped profile. */
  capabilities: string[];
  /** Always true: setuid binaries and file capabilities cannot raise a step's privileges. */
  noNewPrivileges: true;
  limits: SandboxLimits;
  /** Fixed variables every step gets (TZ, LANG, LC_ALL, HOME, PATH...). */
  env: Record<string, string>;
  umask: string;
  workdir: string;
  /**
   * Named, audited departures from the rules above for steps kiln itself generates (never for
   * a recipe's steps): e.g. `debian-assembly` runs dpkg as root with CAP_CHOWN, CAP_DAC_OVERRIDE
   * and CAP_FOWNER. No network, no other capability and no-new-privileges still hold. Absent:
   * none.
   */
  exceptions?: Record<string, SandboxException>;
}

/** What every step may use at most. */
export interface SandboxLimits {
  /** Tasks (processes and threads) at once: a fork bomb stops here. */
  pids: number;
  /** Memory, with no swap on top. */
  memoryBytes: number;
  /** Bytes of the output folder as read back, against a step filling the host's disk. */
  outputBytes: number;
  /**
   * Decompressed bytes per output archive when outputs are normalized (a small .tar.gz of zeros
   * must not fill the host's temp folder). At most `outputBytes`.
   */
  decompressedBytes: number;
}

/** One exception: who the step runs as and the only capabilities it keeps, with why. */
export interface SandboxException {
  /** `uid:gid`. */
  user: string;
  capabilities: string[];
  /** For the auditor: what needs it and why nothing less works. */
  reason: string;
}

export interface LoadedSandboxProfile {
  profile: SandboxProfile;
  /** sha256 of the profile's canonical JSON. */
  digest: Digest;
  file: string;
}

/**
 * Which backend runs actions: `docker` (a local engine, or one behind DOCKER_HOST), `reapi` (a
 * build farm that speaks the Remote Execution API v2).
 */
export type EngineKind = 'docker' | 'reapi';

/**
 * Who ran an action, for provenance: opaque to kiln's logic, recorded as the engine gave it.
 * `engine` and `version` always; a farm adds its endpoint, instance and the worker.
 */
export interface ExecutorRecord {
  engine: EngineKind | (string & {});
  /** e.g. "docker 20.10.24". */
  version: string;
  [detail: string]: unknown;
}

/** The image an action runs in, by content: a kiln tree (rootfs, step output, debian image) or a registry digest. */
export type ImageRef = { kind: 'tree'; tree: Digest } | { kind: 'oci'; ref: string };

/** What appears at a mount's path before the action starts. */
export type MountSource =
  | { kind: 'tree'; tree: Digest }
  | { kind: 'file'; digest: Digest; size: number; executable: boolean }
  /** An empty folder (the working directory, the output folder, /tmp). */
  | { kind: 'dir'; mode: number }
  | { kind: 'symlink'; target: string };

/**
 * One thing placed into the action's file system. Read-only mounts are owned by root and
 * carry no write bit; writable ones are owned by `owner`.
 */
export interface Mount {
  /** Absolute path inside the sandbox, e.g. `/kiln/inputs/src`. */
  path: string;
  source: MountSource;
  writable: boolean;
  /** Owner of what the mount creates: root, or the action's user. */
  owner: 'root' | 'user';
}

/** Limits in kiln's terms; each backend maps them to what it has (HostConfig, platform properties). */
export interface ActionLimits {
  memoryBytes: number;
  pids: number;
  /** Bytes the output folder may hold when read back. */
  outputBytes: number;
  /** Restrict the action to these CPUs (a list such as "0" or "0-1"): `kiln check`'s num_cpus. */
  cpus?: string;
  /** Kill the action after this long; not part of the action key. */
  timeoutMs?: number;
}

/**
 * One action, fully resolved: everything an engine needs and nothing of any engine. It maps
 * onto the Remote Execution API directly: `image` + `mounts` are the input root, `argv`/`env`/
 * `workdir` the Command, `outputPath` its output directory, `limits` and the isolation the
 * platform.
 */
export interface EngineAction {
  /** The step (or `image:<name>`) it runs for: logs, labels and errors only. */
  label: string;
  image: ImageRef;
  argv: string[];
  /** The complete environment the process sees. */
  env: Record<string, string>;
  user: { uid: number; gid: number };
  workdir: string;
  hostname: string;
  domainname: string;
  mounts: Mount[];
  /** Absolute path of the folder whose contents become the output tree. */
  outputPath: string;
  /**
   * The output will run as an image (a debian image's assembly): the engine may take it in as
   * it reads it back, under the output tree's digest, instead of packing the tree again when
   * the first step needs it. Not part of the action key: it changes no byte of the output.
   */
  outputImage?: boolean;
  /** Paths given as fresh in-memory folders instead of packed ones (directory-order variation), with mount options. */
  tmpfs?: Record<string, string>;
  /**
   * Where the read-only tree and file mounts live. Absent: in the action's own file system,
   * where a folder lists its entries in the disk's order (ext4's hash order under overlayfs).
   * `memory` (kiln check's fileordering): in fresh in-memory file systems (tmpfs) written in
   * kiln's sorted order, so a folder lists in tmpfs's order instead (reverse creation order on
   * Linux 6.x); owners, modes and contents are the same. Only an engine whose `features` list
   * `mounts-in-memory` is handed this. It places them after start, so it requires `gate`.
   */
  readOnlyMounts?: 'memory';
  /**
   * The process reads its standard input to the end before it touches a mount (kiln's script
   * prologue does): the engine closes stdin once every mount is in place. An engine that
   * places everything before start gives an empty stdin, and the process goes on at once.
   */
  gate?: 'stdin';
  limits: ActionLimits;
  /**
   * A profile exception the action runs under (only kiln's own implicit actions): the engine
   * adds exactly these capabilities and labels the run with the name. The user is already in `user`.
   */
  privilege?: { name: string; capabilities: string[] };
  /** Mtime of every packed entry (SOURCE_DATE_EPOCH). */
  mtime: number;
}

export interface EngineResult {
  exitCode: number;
  /** Engine's reason when it stopped the action: 'timeout', 'oom', 'aborted'. */
  killed?: 'timeout' | 'oom' | 'aborted';
  /** The output folder as a tree in the store, as written (not normalized); set when exit 0 and not killed. */
  outputTree?: Digest;
  /** Wall time of the run, and the part spent queued for a worker (a farm). */
  durationMs: number;
  queuedMs?: number;
  executor: ExecutorRecord;
}

/** Where a run reads and writes, and how it reports as it goes. */
export interface EngineRunIO {
  /** Mounted trees and files are read from here; the output tree goes here. */
  store: Store;
  /** Live output, in order. */
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  /** The engine made an image available: imported from a tree, pulled, or already there. */
  onImage?: (action: 'import' | 'pull' | 'present') => void;
  signal?: AbortSignal;
}

/**
 * A backend that runs actions in isolation. It reads what it mounts from the run's store and
 * returns the output folder into it as a tree; images, containers and workers are its business.
 */
/**
 * Ways of running an action that not every backend has; a check variation that needs one the
 * engine lacks says so instead of pretending. `mounts-in-memory`: `EngineAction.readOnlyMounts`;
 * `any-user`: any `EngineAction.user` (a farm runs every command as its one user);
 * `uts-names`: any hostname and domain name; `cpuset`: `limits.cpus`; `tmpfs`: `EngineAction.tmpfs`.
 */
export type EngineFeature = 'mounts-in-memory' | 'any-user' | 'uts-names' | 'cpuset' | 'tmpfs';

export interface Engine {
  readonly kind: EngineKind;
  /** What this backend can do beyond the contract every backend keeps; absent: nothing more. */
  readonly features?: readonly EngineFeature[];
  /** The engine itself, for build summaries and provenance. */
  describe(): Promise<ExecutorRecord>;
  run(action: EngineAction, io: EngineRunIO): Promise<EngineResult>;
  /**
   * Optional: start making an image available before an action needs it (a tree imported while
   * kiln still prepares the action's inputs). `run` waits for what is under way; a failure here
   * is only reported by the `run` that needs the image.
   */
  prepareImage?(image: ImageRef, options: ImagePreparation): void;
}

/** What `prepareImage` needs: where a tree is read from, and the mtime the action will give its entries. */
export interface ImagePreparation {
  store: Store;
  mtime: number;
}
