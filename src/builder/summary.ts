import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import { join } from 'node:path';
import type { ClockMethod } from '../plan/clock.js';
import type { ExecutorRecord } from '../sandbox/types.js';
import type { ActionOrigin } from '../store/types.js';
import type { Digest } from '../util/digest.js';

export const BUILD_SUMMARY_FORMAT = 'build/v1';
export const BUILD_SUMMARY_FILE = 'build.json';

export interface ArtifactSummary {
  /** Path of the artifact inside its step's output, and inside --out. */
  name: string;
  from: string;
  size: number;
  /** Hex digests, the in-toto DigestSet form. */
  digests: { sha256: string; sha512: string };
}

export interface StepSummary {
  actionKey: Digest;
  outputTree: Digest;
  log: Digest;
  /** Image identity: a tree digest or a registry reference by digest. */
  image: string;
  cached: boolean;
  exitCode: number;
  durationMs: number;
  /** Who ran the step (engine, version; a farm's worker); absent when it came from a cache. */
  executor?: ExecutorRecord;
  /** When the result came from a shared cache: its endpoint and what admitted it (a trusted key's signature, or trust in the server). */
  origin?: ActionOrigin;
}

/** The content of `<out>/build.json`, and of `kiln build --json`. */
export interface BuildSummary {
  kiln: typeof BUILD_SUMMARY_FORMAT;
  recipe: { name: string; version?: string; file: string; digest: Digest };
  sourceDateEpoch: number;
  platform: string;
  sandboxProfile: Digest;
  /** `docker <version>` when an engine ran anything; null for a build served from the cache. */
  engine: string | null;
  artifacts: ArtifactSummary[];
  steps: Record<string, StepSummary>;
  inputs: Record<string, { kind: string; uri: string; digest: Digest; integrity: string; size: number; cached: boolean }>;
  images: Record<string, { kind: string; tree?: Digest; ref?: string }>;
  timings: { startedOn: string; finishedOn: string; durationMs: number; fetchMs: number };
  /** Under `kiln check`'s time variation: how each image's steps got the shifted clock (libfaketime, or none and why). */
  clocks?: Record<string, ClockMethod>;
  /** Provenance / SBOM files written beside the artifacts (relative to --out), and whether signed. */
  attestations?: { files: string[]; signed: boolean; keyid?: string };
}

export async function writeBuildSummary(out: string, summary: BuildSummary): Promise<void> {
  await mkdir(out, { recursive: true });
  await writeFileAtomic(join(out, BUILD_SUMMARY_FILE), JSON.stringify(summary, null, 2) + '\n');
}
