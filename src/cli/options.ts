import type { SourceOptions } from '../fetch/index.js';
import type { RemoteCacheOptions, RemoteConnectionOptions } from '../remote-cache/index.js';
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

// ---------------------------------------------------------------------------------------------
// Shared cache over the Remote Execution API (docs/remote-execution.md, "Shared cache")

/** How kiln reaches a REAPI endpoint: TLS, headers, a bearer token (shared by every remote option). */
export const REMOTE_CONNECTION_OPTIONS = {
  'remote-tls-ca': { type: 'string', value: 'FILE', description: "PEM of the CA that signed a grpcs:// server's certificate (default: the system's roots)" },
  'remote-tls-cert': { type: 'string', value: 'FILE', description: 'PEM client certificate, for servers that want mutual TLS (with --remote-tls-key)' },
  'remote-tls-key': { type: 'string', value: 'FILE', description: 'PEM key of the client certificate' },
  'remote-header': { type: 'string', multiple: true, value: 'NAME=VALUE', description: 'a header sent with every remote call, e.g. an API key (repeatable)' },
  'remote-bearer-token-file': { type: 'string', value: 'FILE', description: 'a file holding a bearer token for the remote (default $KILN_REMOTE_BEARER_TOKEN); never sent over plaintext' },
} as const satisfies Record<string, OptionSpec>;

export const REMOTE_CACHE_OPTIONS = {
  'remote-cache': { type: 'string', value: 'URL', description: 'a shared cache: grpc[s]://host:port[/instance] of a REAPI CAS and action cache (default $KILN_REMOTE_CACHE)' },
  'cache-trust': { type: 'string', multiple: true, value: 'PUB', description: 'a public key whose signed cache entries are used (repeatable; then $KILN_CACHE_TRUST); unsigned or other entries are refused and the step runs' },
  'trust-remote-cache': { type: 'boolean', description: 'use entries no trusted key signed: the cache server decides what the build contains (warned)' },
  'cache-sign-key': { type: 'string', value: 'FILE', description: 'sign uploaded cache entries with this PKCS#8 PEM key (default $KILN_CACHE_SIGN_KEY, else the --sign-key)' },
  'no-cache-upload': { type: 'boolean', description: 'read the shared cache but upload nothing to it' },
  ...REMOTE_CONNECTION_OPTIONS,
} as const satisfies Record<string, OptionSpec>;

type RemoteConnectionValues = { 'remote-tls-ca'?: string; 'remote-tls-cert'?: string; 'remote-tls-key'?: string; 'remote-header'?: string[]; 'remote-bearer-token-file'?: string };
type RemoteCacheValues = RemoteConnectionValues & { 'remote-cache'?: string; 'cache-trust'?: string[]; 'trust-remote-cache'?: boolean; 'cache-sign-key'?: string; 'no-cache-upload'?: boolean };

export function remoteConnectionOptions(values: RemoteConnectionValues): RemoteConnectionOptions {
  return {
    ...(values['remote-tls-ca'] !== undefined && { tlsCa: values['remote-tls-ca'] }),
    ...(values['remote-tls-cert'] !== undefined && { tlsCert: values['remote-tls-cert'] }),
    ...(values['remote-tls-key'] !== undefined && { tlsKey: values['remote-tls-key'] }),
    ...(values['remote-header'] !== undefined && { headers: values['remote-header'] }),
    ...(values['remote-bearer-token-file'] !== undefined && { bearerTokenFile: values['remote-bearer-token-file'] }),
  };
}

/** The shared-cache flags as RemoteCacheOptions (absent flags left out, so the environment applies). */
export function remoteCacheOptions(values: RemoteCacheValues): RemoteCacheOptions {
  return {
    ...(values['remote-cache'] !== undefined && { endpoint: values['remote-cache'] }),
    ...(values['cache-trust'] !== undefined && { trust: values['cache-trust'] }),
    ...(values['trust-remote-cache'] && { trustServer: true }),
    ...(values['cache-sign-key'] !== undefined && { signKey: values['cache-sign-key'] }),
    ...(values['no-cache-upload'] && { upload: false }),
    connection: remoteConnectionOptions(values),
  };
}
