import { randomUUID } from 'node:crypto';
import type { BuildSummary } from '../builder/summary.js';
import type { Recipe } from '../recipe/types.js';
import { readSigner } from './keys.js';
import { buildProvenance } from './provenance.js';
import { buildSbom, sbomCacheKey } from './sbom.js';
import { writeAttestations } from './write.js';

/** The environment variable naming the signing key file when `--sign-key` is not given. */
export const SIGN_KEY_ENV = 'KILN_SIGN_KEY';

export interface AttestBuildOptions {
  /** Private key file; default `$KILN_SIGN_KEY`; none, or `false`: the statements are written unsigned. */
  signKey?: string | false;
  builderId?: string;
  kilnVersion: string;
  /** Default: a fresh `urn:uuid:`. */
  invocationId?: string;
  /** File name stem; default the recipe's name. */
  name?: string;
  /** Write the SBOM (and its attestation); default true. */
  sbom?: boolean;
  overrides?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** A cache of SBOMs by content key (the build passes one backed by its store). */
  sbomCache?: { get(key: string): Promise<object | undefined>; set(key: string, sbom: object): Promise<void> };
}

/** The key file to sign with: the flag, else the environment, else none; `false`: none, whatever the environment says. */
export function resolveSignKey(flag: string | false | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag === false) return undefined;
  if (flag !== undefined && flag !== '') return flag;
  const fromEnv = env[SIGN_KEY_ENV];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined;
}

/**
 * Everything `kiln build` writes after the artifacts: provenance, SBOM, signed when a key is
 * given. The key is read before anything is written, so a bad key leaves no files behind.
 */
export async function attestBuild(
  out: string,
  summary: BuildSummary,
  recipe: Recipe,
  options: AttestBuildOptions,
): Promise<{ files: string[]; signed: boolean; keyid?: string }> {
  const keyFile = resolveSignKey(options.signKey, options.env);
  const signer = keyFile === undefined ? undefined : await readSigner(keyFile);
  const provenance = buildProvenance(summary, recipe, {
    kilnVersion: options.kilnVersion,
    invocationId: options.invocationId ?? `urn:uuid:${randomUUID()}`,
    ...(options.builderId !== undefined && { builderId: options.builderId }),
    ...(options.overrides !== undefined && { overrides: options.overrides }),
  });
  let sbom: object | undefined;
  if (options.sbom !== false) {
    const key = sbomCacheKey(summary, recipe, { kilnVersion: options.kilnVersion });
    sbom = await options.sbomCache?.get(key);
    if (!sbom) {
      sbom = buildSbom(summary, recipe, { kilnVersion: options.kilnVersion });
      await options.sbomCache?.set(key, sbom);
    }
  }
  const result = await writeAttestations(out, options.name ?? summary.recipe.name, { provenance, ...(sbom && { sbom }) }, signer);
  return signer ? { ...result, keyid: signer.keyid } : result;
}
