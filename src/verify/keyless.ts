import { readFile } from 'node:fs/promises';
import type { Bundle } from '@sigstore/bundle';
import type { TrustMaterial } from '@sigstore/verify';
import { VerifyError } from './errors.js';
import { sigstore } from './sigstore.js';

export type { TrustMaterial } from '@sigstore/verify';

/**
 * Who must have signed a keyless bundle. Like cosign: an identity (exact, or a regexp) AND
 * an OIDC issuer, both matched against the Fulcio certificate; keyless trust without them
 * would accept anyone with a GitHub account.
 */
export interface KeylessOptions {
  /** Exact certificate SAN (for GitHub Actions: the workflow URI with its ref). */
  certificateIdentity?: string;
  /** A JavaScript regular expression the SAN must match (unanchored, as cosign's Go regexp). */
  certificateIdentityRegexp?: string;
  /** Exact OIDC issuer recorded in the certificate (Fulcio extension 1.3.6.1.4.1.57264.1.8). */
  certificateOidcIssuer?: string;
}

export interface Check {
  name: string;
  passed: boolean;
  reason: string;
}

/** The identity from a verified signing certificate. */
export interface CertificateSigner {
  identity?: string;
  issuer?: string;
}

export interface KeylessResult {
  /** `signature` then `certificate-identity`; verification stops at the first that fails. */
  checks: Check[];
  /** The signed payload: set only when every check passed (never hand out unverified bytes). */
  payload?: Buffer;
  signer?: CertificateSigner;
}

/** Reads a Sigstore trusted_root.json (see parseTrustedRoot). */
export async function readTrustedRoot(file: string): Promise<TrustMaterial> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new VerifyError('KILN_VERIFY_UNREADABLE', `cannot read trusted root ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      where: { file },
      cause: err,
    });
  }
  return parseTrustedRoot(text, file);
}

/**
 * Turns a trusted_root.json (Sigstore protobuf-specs TrustedRoot: Fulcio CAs, Rekor and CT log
 * keys, TSAs) into the trust material the verifier uses. Given offline: no TUF fetch.
 */
export function parseTrustedRoot(text: string, file: string): TrustMaterial {
  try {
    const json = JSON.parse(text) as unknown;
    if (typeof json !== 'object' || json === null || !('mediaType' in json)) throw new Error('no mediaType: not a TrustedRoot');
    const { specs, verify } = sigstore();
    const root = specs.TrustedRoot.fromJSON(json);
    if (root.certificateAuthorities.length === 0 && root.tlogs.length === 0) throw new Error('it trusts no certificate authority and no log');
    return verify.toTrustMaterial(root);
  } catch (err) {
    throw new VerifyError('KILN_VERIFY_BAD_TRUSTED_ROOT', `unusable trusted root: ${(err as Error).message}`, { where: { file }, cause: err });
  }
}

/** Throws (exit 2) unless an identity (exact or regexp) and an issuer are given. */
export function assertKeylessOptions(options: KeylessOptions): void {
  const { certificateIdentity, certificateIdentityRegexp, certificateOidcIssuer } = options;
  if ((certificateIdentity === undefined && certificateIdentityRegexp === undefined) || certificateOidcIssuer === undefined) {
    throw new VerifyError('KILN_VERIFY_IDENTITY_REQUIRED', 'a keyless (certificate) bundle needs the expected signer', {
      hint: 'give --certificate-identity (or --certificate-identity-regexp) and --certificate-oidc-issuer, e.g. https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.0.0 and https://token.actions.githubusercontent.com',
    });
  }
  if (certificateIdentity !== undefined && certificateIdentityRegexp !== undefined) {
    throw new VerifyError('KILN_VERIFY_IDENTITY_REQUIRED', 'give --certificate-identity or --certificate-identity-regexp, not both');
  }
  if (certificateIdentityRegexp !== undefined) identityPattern(certificateIdentityRegexp);
}

/**
 * True when a regexp can only match a whole identity: it starts with `^`, ends with an
 * unescaped `$`, and has no `|` outside a group or class (`^a|b$` matches "…b"). cosign
 * matches `--certificate-identity-regexp` anywhere in the SAN, as kiln does; an unanchored
 * pattern such as `github.com/org/repo/` also accepts `https://github.com/evil/x?github.com/org/repo/`
 * or a workflow on any branch, so the CLI warns about it. Pure and conservative: a pattern
 * it cannot prove anchored is reported as not anchored.
 */
export function isAnchoredPattern(source: string): boolean {
  if (!source.startsWith('^') || !source.endsWith('$')) return false;
  let depth = 0;
  let inClass = false;
  for (let i = 1; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      if (i === source.length - 2) return false; // the final `$` is escaped: a literal dollar
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return false;
  }
  return !inClass && depth === 0;
}

function identityPattern(source: string): RegExp {
  try {
    return new RegExp(source, 'u');
  } catch (err) {
    throw new VerifyError('KILN_VERIFY_BAD_REGEXP', `--certificate-identity-regexp is not a valid regular expression: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Verifies a keyless Sigstore bundle with @sigstore/verify: the certificate chains to a
 * trusted Fulcio CA at the time the transparency log recorded it, the SCT and the Rekor
 * inclusion proof verify, the DSSE signature verifies with the certificate's key; then the
 * certificate's SAN and issuer must be the expected ones. Pure and synchronous.
 * We match identity ourselves: @sigstore/verify treats its SAN policy as a regular expression,
 * so an exact identity passed there would match more than itself (`.` is any character).
 */
export function verifyKeylessBundle(bundle: Bundle, trustMaterial: TrustMaterial, options: KeylessOptions): KeylessResult {
  assertKeylessOptions(options);
  const checks: Check[] = [];
  if (bundle.content.$case !== 'dsseEnvelope') {
    checks.push({ name: 'signature', passed: false, reason: 'the bundle signs a message, not a DSSE attestation' });
    return { checks };
  }
  const envelope = bundle.content.dsseEnvelope;
  // protobuf-specs: "DSSE envelopes in a bundle MUST have exactly one signature".
  if (envelope.signatures.length !== 1) {
    checks.push({ name: 'signature', passed: false, reason: `a bundle's DSSE envelope must have exactly one signature, it has ${envelope.signatures.length}` });
    return { checks };
  }
  let identity: string | undefined;
  let issuer: string | undefined;
  try {
    const { verify } = sigstore();
    const signer = new verify.Verifier(trustMaterial).verify(verify.toSignedEntity(bundle));
    identity = signer.identity?.subjectAlternativeName;
    issuer = signer.identity?.extensions?.issuer;
  } catch (err) {
    const code = (err as { code?: string }).code;
    checks.push({ name: 'signature', passed: false, reason: `Sigstore verification failed${code ? ` (${code})` : ''}: ${(err as Error).message}` });
    return { checks };
  }
  checks.push({ name: 'signature', passed: true, reason: 'certificate chains to the trusted root; transparency log entry and signature verify' });

  const problems: string[] = [];
  if (options.certificateIdentity !== undefined && identity !== options.certificateIdentity) {
    problems.push(`identity is ${identity ?? '(none)'}, expected ${options.certificateIdentity}`);
  }
  if (options.certificateIdentityRegexp !== undefined && (identity === undefined || !identityPattern(options.certificateIdentityRegexp).test(identity))) {
    problems.push(`identity ${identity ?? '(none)'} does not match /${options.certificateIdentityRegexp}/`);
  }
  if (issuer !== options.certificateOidcIssuer) problems.push(`OIDC issuer is ${issuer ?? '(none)'}, expected ${options.certificateOidcIssuer}`);
  const signer: CertificateSigner = { ...(identity !== undefined && { identity }), ...(issuer !== undefined && { issuer }) };
  if (problems.length > 0) {
    checks.push({ name: 'certificate-identity', passed: false, reason: problems.join('; ') });
    return { checks, signer };
  }
  checks.push({ name: 'certificate-identity', passed: true, reason: `${identity} (issuer ${issuer})` });
  return { checks, payload: Buffer.from(envelope.payload), signer };
}
