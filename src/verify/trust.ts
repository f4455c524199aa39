import { readTrustedKey, type TrustedKey } from '../attest/index.js';
import { UsageError } from '../util/errors.js';
import type { Attestation } from './attestation.js';
import { VerifyError } from './errors.js';
import { assertKeylessOptions, readTrustedRoot, type KeylessOptions, type TrustMaterial } from './keyless.js';

/** What the user said to trust, as given on the command line (`kiln verify` and `kiln rebuild` share it). */
export interface TrustOptions {
  /** Public key files (`--key`). */
  keys?: string[];
  /** `--certificate-identity`, `--certificate-identity-regexp`, `--certificate-oidc-issuer`. */
  keyless?: KeylessOptions;
  /** `--trusted-root`: the Sigstore trusted_root.json for keyless bundles. */
  trustedRoot?: string;
}

/** The trust loaded and checked against the attestation's kind: what verifyProvenance takes. */
export interface ProvenanceTrust {
  keys: TrustedKey[];
  keyless?: KeylessOptions & { trustMaterial: TrustMaterial };
}

/**
 * Loads the keys or the keyless trust an attestation needs, and refuses up front (exit 2)
 * what cannot work: a keyless bundle without --trusted-root or without an expected identity
 * and issuer, keyless flags for a key-signed attestation, a key-signed one without --key.
 * One function for `kiln verify` and `kiln rebuild`, so both accept exactly the same signers.
 */
export async function loadProvenanceTrust(attestation: Attestation, options: TrustOptions): Promise<ProvenanceTrust> {
  const keys: TrustedKey[] = [];
  for (const file of options.keys ?? []) keys.push(await readTrustedKey(file));
  const keyless = options.keyless ?? {};
  const identityGiven = Object.values(keyless).some((v) => v !== undefined);
  if (attestation.kind === 'sigstore' && attestation.keyless) {
    if (options.trustedRoot === undefined) {
      throw new VerifyError('KILN_VERIFY_NO_TRUST', `${attestation.file} is a keyless Sigstore bundle: give the Sigstore trusted root with --trusted-root`, {
        hint: 'trusted_root.json, e.g. from `sigstore` TUF metadata; kiln never fetches it',
      });
    }
    assertKeylessOptions(keyless);
    return { keys, keyless: { ...keyless, trustMaterial: await readTrustedRoot(options.trustedRoot) } };
  }
  if (identityGiven || options.trustedRoot !== undefined) {
    throw new UsageError(`${attestation.file} is signed with a key: --trusted-root and --certificate-* apply to keyless Sigstore bundles only`);
  }
  if (keys.length === 0) {
    throw new VerifyError('KILN_VERIFY_NO_TRUST', `${attestation.file} is signed with keys: give the trusted public key(s) with --key`, {
      hint: 'kiln keygen writes <name>.pub beside the private key',
    });
  }
  return { keys };
}
