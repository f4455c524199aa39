import type { SourceOptions } from '../fetch/index.js';
import { UsageError } from '../util/errors.js';
import { escapeTerminal } from '../util/terminal.js';
import type { KeylessOptions } from '../verify/index.js';
import type { OptionSpec } from './command.js';
import type { CliIO } from './io.js';

// Options that several commands share, defined once so that they mean and say the same everywhere.

export const JSON_OPTIONS = {
  json: { type: 'boolean', description: 'print the result as JSON on stdout and nothing else there (progress and warnings go to stderr)' },
} as const satisfies Record<string, OptionSpec>;

export const JOBS_OPTIONS = {
  jobs: { type: 'string', short: 'j', value: 'N', description: 'steps run at once (default 2)' },
} as const satisfies Record<string, OptionSpec>;

export const SIGN_KEY_OPTIONS = {
  'sign-key': { type: 'string', value: 'FILE', description: 'sign with this PKCS#8 PEM private key (default $KILN_SIGN_KEY; none: unsigned); `kiln keygen` makes one' },
} as const satisfies Record<string, OptionSpec>;

/** `--mirror DIR|URL` (repeatable) and `--debian-snapshot URL`: where pinned bytes may come from (docs/mirrors.md). */
export const SOURCE_OPTIONS = {
  mirror: { type: 'string', multiple: true, value: 'DIR|URL', description: 'a content-addressed mirror tried before the upstream, in order: a `kiln vendor` folder, a kiln store or an http(s) cache (repeatable; then $KILN_MIRRORS)' },
  'debian-snapshot': { type: 'string', value: 'URL', description: "a service with the URL layout of Debian's snapshot archive, tried after apt (default $KILN_DEBIAN_SNAPSHOT)" },
} as const satisfies Record<string, OptionSpec>;

/** The expected signer of a keyless Sigstore bundle, as cosign takes it. */
export const KEYLESS_OPTIONS = {
  'trusted-root': { type: 'string', value: 'FILE', description: 'the Sigstore trusted root (trusted_root.json) for keyless bundles; kiln never fetches it' },
  'certificate-identity': { type: 'string', value: 'ID', description: "the keyless signer's exact identity (a workflow URI, an email)" },
  'certificate-identity-regexp': { type: 'string', value: 'RE', description: "a pattern the signer's identity must match; matched anywhere, as cosign does: anchor it, ^…$" },
  'certificate-oidc-issuer': { type: 'string', value: 'URL', description: "the OIDC issuer of the signer's certificate" },
} as const satisfies Record<string, OptionSpec>;

export function sourceOptions(values: { mirror?: string[]; 'debian-snapshot'?: string }): SourceOptions {
  return { ...(values.mirror && { mirrors: values.mirror }), ...(values['debian-snapshot'] !== undefined && { debianSnapshot: values['debian-snapshot'] }) };
}

/** The `--certificate-*` flags as KeylessOptions (absent flags left out). */
export function keylessOptions(values: { 'certificate-identity'?: string; 'certificate-identity-regexp'?: string; 'certificate-oidc-issuer'?: string }): KeylessOptions {
  return {
    ...(values['certificate-identity'] !== undefined && { certificateIdentity: values['certificate-identity'] }),
    ...(values['certificate-identity-regexp'] !== undefined && { certificateIdentityRegexp: values['certificate-identity-regexp'] }),
    ...(values['certificate-oidc-issuer'] !== undefined && { certificateOidcIssuer: values['certificate-oidc-issuer'] }),
  };
}

/** An option's value as a positive integer (`--jobs`, `--min-rebuilds`); undefined when absent. */
export function positiveInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  return n;
}

/** cosign's semantics (the regexp matches anywhere in the identity), and a warning when that is wider than meant. */
export async function warnIfUnanchored(options: KeylessOptions, io: CliIO): Promise<void> {
  const pattern = options.certificateIdentityRegexp;
  if (pattern === undefined) return;
  const { isAnchoredPattern } = await import('../verify/index.js');
  if (!isAnchoredPattern(pattern)) {
    io.stderr.write(
      `kiln: warning: --certificate-identity-regexp ${escapeTerminal(JSON.stringify(pattern))} is not anchored: it accepts any identity that merely contains a match ` +
        '(a workflow in another repository, a branch an attacker names). Anchor it: ^…$\n',
    );
  }
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** `1073741824`, `1G`, `512MiB`, `2g` → bytes; undefined when it is not a size. */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d+)\s*(?:([KMGT])(?:i?B)?|B)?$/i.exec(text.trim());
  if (!m) return undefined;
  const bytes = Number(m[1]) * SIZE_UNITS[(m[2] ?? '').toUpperCase()]!;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
