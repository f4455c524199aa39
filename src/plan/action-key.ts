import { canonicalJSON } from '../util/canonical-json.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import type { InputMount } from '../fetch/types.js';
import type { ImageRef } from '../sandbox/types.js';
import type { EngineVariation } from './variation.js';

export const ACTION_KEY_FORMAT = 'action-key/v1';

/** The image a step runs in, by content: a kiln tree (rootfs input, step output, debian image) or a registry digest. */
export type ImageIdentity = ImageRef;

/**
 * Everything that can change a step's result, and nothing else: this is hashed into the
 * action key. Not in here on purpose (they cannot change the bytes a step writes): the step's
 * name, timeouts, log colour, `--jobs`, the engine's version, wall-clock time. The step name
 * is left out so two identical steps share one cache entry, as BuildKit does.
 */
export interface ActionKeyMaterial {
  kiln: typeof ACTION_KEY_FORMAT;
  image: ImageIdentity;
  /** The full argv: shell followed by the script as run (with kiln's umask prologue). */
  argv: string[];
  /** The complete environment the process sees. */
  env: Record<string, string>;
  user: string;
  /** Mounted at /kiln/inputs/<name>. */
  inputs: Record<string, InputMount>;
  /** Output trees of needed steps, mounted at /kiln/steps/<name>. */
  needs: Record<string, Digest>;
  sourceDateEpoch: number;
  platform: string;
  /** Digest of the sandbox profile (sandbox/profile.json). */
  sandboxProfile: Digest;
  /** Whether output archives are normalized, and by which rules version. */
  normalize: string | false;
  /**
   * Engine conditions a `kiln check` variation changed (hostname, working directory, CPUs,
   * tmpfs). Absent in a normal build, so normal keys are unchanged; variations of the
   * environment, user and umask already show in `env`, `user` and `argv`.
   */
  engine?: EngineVariation;
}

/** sha256 of the canonical JSON of the material. */
export function computeActionKey(material: ActionKeyMaterial): Digest {
  return sha256Digest(canonicalJSON(material));
}
