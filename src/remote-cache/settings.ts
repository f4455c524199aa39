import { parseEndpoint } from '../reapi/endpoint.js';
import { UsageError } from '../util/errors.js';

/** The shared cache's endpoint, unless `--remote-cache` gives one (not read by `kiln rebuild`). */
export const REMOTE_CACHE_ENV = 'KILN_REMOTE_CACHE';
/** Public key files (whitespace-separated) whose signatures admit entries, after `--cache-trust`. */
export const CACHE_TRUST_ENV = 'KILN_CACHE_TRUST';
/** The private key that signs uploaded entries, unless `--cache-sign-key` gives one. */
export const CACHE_SIGN_KEY_ENV = 'KILN_CACHE_SIGN_KEY';
/** A bearer token for the remote endpoint, unless `--remote-bearer-token-file` gives one. */
export const REMOTE_BEARER_TOKEN_ENV = 'KILN_REMOTE_BEARER_TOKEN';

/** How to reach a REAPI endpoint besides its URL: TLS material, headers, a bearer token (files are read when the cache opens). */
export interface RemoteConnectionOptions {
  /** PEM file of the CA that signed the server's certificate (default: the system's roots). */
  tlsCa?: string;
  /** PEM files of a client certificate and key, for farms that want mutual TLS. */
  tlsCert?: string;
  tlsKey?: string;
  /** `NAME=VALUE` headers sent with every call (an API key a farm asks for). */
  headers?: string[];
  /** A file holding the bearer token (sent as `authorization: Bearer …`, never over plaintext); default $KILN_REMOTE_BEARER_TOKEN. */
  bearerTokenFile?: string;
}

/** The shared cache as a command asks for it (docs/remote-execution.md, "Shared cache"). */
export interface RemoteCacheOptions {
  /** `grpc[s]://host:port[/instance]`; default $KILN_REMOTE_CACHE (unless `fromEnv` is false). */
  endpoint?: string;
  /** Public key files: an entry signed by one of them is accepted. $KILN_CACHE_TRUST adds more. */
  trust?: string[];
  /** Accept entries that no trusted key signed (`--trust-remote-cache`): the server decides what the build contains. */
  trustServer?: boolean;
  /** The private key that signs uploaded entries; default $KILN_CACHE_SIGN_KEY, else the build's signing key; false: upload unsigned. */
  signKey?: string | false;
  /** Look results up in the remote action cache (default true). */
  readActions?: boolean;
  /** Upload results made here and pinned blobs fetched here (default true). */
  upload?: boolean;
  /** Read $KILN_REMOTE_CACHE, $KILN_CACHE_TRUST and $KILN_CACHE_SIGN_KEY (default true; `kiln rebuild` uses only its flags). */
  fromEnv?: boolean;
  connection?: RemoteConnectionOptions;
}

/** RemoteCacheOptions with the environment applied and the endpoint checked; undefined: no shared cache. */
export interface ResolvedRemoteCache {
  endpoint: string;
  trust: string[];
  trustServer: boolean;
  signKey?: string | false;
  readActions: boolean;
  upload: boolean;
  connection: RemoteConnectionOptions & { headers: string[]; bearerToken?: string };
}

const words = (text: string | undefined) => (text ?? '').split(/\s+/).filter((w) => w !== '');

/**
 * Applies the environment to the options, pure over `env`; undefined when no endpoint is set.
 * A bad endpoint or header is refused here (KILN_REAPI_BAD_ENDPOINT, KILN_USAGE), before any work.
 */
export function resolveRemoteCache(options: RemoteCacheOptions = {}, env: Record<string, string | undefined> = process.env): ResolvedRemoteCache | undefined {
  const fromEnv = options.fromEnv ?? true;
  const endpoint = options.endpoint ?? (fromEnv ? env[REMOTE_CACHE_ENV] || undefined : undefined);
  if (endpoint === undefined) {
    if (options.trust?.length || options.trustServer || options.signKey) throw new UsageError('--cache-trust, --trust-remote-cache and --cache-sign-key need --remote-cache URL (or $KILN_REMOTE_CACHE)');
    return undefined;
  }
  parseEndpoint(endpoint);
  const headers = options.connection?.headers ?? [];
  for (const h of headers) {
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+=/.test(h)) throw new UsageError(`--remote-header takes NAME=VALUE, got ${JSON.stringify(h.replace(/=.*/s, '=…'))}`);
  }
  const signKey = options.signKey ?? (fromEnv ? env[CACHE_SIGN_KEY_ENV] || undefined : undefined);
  const token = options.connection?.bearerTokenFile === undefined ? env[REMOTE_BEARER_TOKEN_ENV] || undefined : undefined;
  return {
    endpoint,
    trust: [...(options.trust ?? []), ...(fromEnv ? words(env[CACHE_TRUST_ENV]) : [])],
    trustServer: options.trustServer ?? false,
    ...(signKey !== undefined && { signKey }),
    readActions: options.readActions ?? true,
    upload: options.upload ?? true,
    connection: { ...options.connection, headers, ...(token !== undefined && { bearerToken: token }) },
  };
}
