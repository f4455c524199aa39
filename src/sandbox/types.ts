import type { Readable } from 'node:stream';
import type { Digest } from '../util/digest.js';

/**
 * The hardening profile: data in `sandbox/profile.json` (where an auditor reads it), loaded
 * and validated by `loadSandboxProfile()`; its digest enters every action key.
 */
export interface SandboxProfile {
  version: 1;
  hostname: string;
  domainname: string;
  networkMode: 'none';
  capDrop: string[];
  capAdd: string[];
  securityOpt: string[];
  pidsLimit: number;
  memoryBytes: number;
  /** Fixed variables every step gets (TZ, LANG, LC_ALL, HOME, PATH...). */
  env: Record<string, string>;
  umask: string;
  workdir: string;
  /** Size cap for /kiln/out as read back, against a step filling the disk of the host. */
  maxOutputBytes: number;
  /**
   * Budget of decompressed bytes per output archive when outputs are normalized (a small
   * .tar.gz of zeros must not fill the host's temp folder). At most maxOutputBytes.
   */
  maxDecompressedBytes: number;
  /**
   * Named, audited departures from the rules above for steps kiln itself generates (never for
   * a recipe's steps): e.g. `debian-assembly` runs dpkg as root with CAP_CHOWN. Network,
   * capDrop ALL and no-new-privileges still hold. Absent: none.
   */
  exceptions?: Record<string, SandboxException>;
}

/** One exception: who the step runs as and the only capabilities added back, with why. */
export interface SandboxException {
  /** `uid:gid`. */
  user: string;
  capAdd: string[];
  /** For the auditor: what needs it and why nothing less works. */
  reason: string;
}

export interface LoadedSandboxProfile {
  profile: SandboxProfile;
  /** sha256 of the profile's canonical JSON. */
  digest: Digest;
  file: string;
}

export interface EngineInfo {
  /** e.g. "docker 20.10.24"; recorded in provenance. */
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
}

/** What one step run needs from the engine; everything is already resolved by the planner. */
export interface StepRun {
  step: string;
  /** An engine image reference from `ensureTreeImage` / `ensureOciImage`. */
  image: string;
  /** Full argv: the image's shell followed by the script. */
  argv: string[];
  /** The complete environment (profile env, recipe env, step env, SOURCE_DATE_EPOCH, KILN_OUT). */
  env: Record<string, string>;
  /** `uid:gid`. */
  user: string;
  /** A fresh tar stream extracted at `/` before start: kiln/inputs, kiln/steps, kiln/work, kiln/out, tmp. */
  input: () => Readable;
  /** Live log output, in order, as the container writes it. */
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  /** Receives /kiln/out as a tar stream (entries under `out/`) when the script exited 0. */
  collect: (tar: Readable) => Promise<void>;
  signal?: AbortSignal;
  /** Kill the step after this long (not part of the action key). */
  timeoutMs?: number;
  /** Engine-level conditions changed by `kiln check`; absent in a normal build (hashed into the action key when set). */
  variation?: EngineVariation;
  /**
   * A profile exception this run is granted (its name in `exceptions`): only kiln's own
   * implicit steps set it. The engine applies its user and capabilities and labels the container.
   */
  exception?: string;
}

/**
 * What `kiln check` varies at the engine, over the profile's fixed settings. Every member is
 * applied by the engine (not by the step's script), and every member enters the action key.
 */
export interface EngineVariation {
  hostname?: string;
  domainname?: string;
  /** The working directory instead of the profile's (`build_path`). */
  workdir?: string;
  /** `HostConfig.CpusetCpus`, e.g. "0": fewer CPUs (`num_cpus`). */
  cpusetCpus?: string;
  /** Paths mounted as tmpfs, with their mount options (`fileordering`: readdir order is reverse creation order). */
  tmpfs?: Record<string, string>;
}

export interface StepRunResult {
  exitCode: number;
  /** Engine's reason when it killed the step: 'timeout', 'oom', 'aborted'. */
  killed?: 'timeout' | 'oom' | 'aborted';
  containerId: string;
  durationMs: number;
}

/** A build engine: Docker through dockerode today; any engine the API reaches. */
export interface Engine {
  info(): Promise<EngineInfo>;
  /**
   * Make a kiln tree available as an image, tagged by the tree digest
   * (`kiln.local/tree:<hex>`): imported from `rootfsTar()` only if absent. Returns the reference.
   */
  ensureTreeImage(tree: Digest, rootfsTar: () => Readable): Promise<string>;
  /** An image by digest (`name@sha256:<hex>`): pulled if absent; the local copy's digest is checked. */
  ensureOciImage(ref: string): Promise<string>;
  runStep(run: StepRun): Promise<StepRunResult>;
}
