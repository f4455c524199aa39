import { readFile } from 'node:fs/promises';
import { readSigner, readTrustedKey } from '../attest/keys.js';
import type { Signer } from '../attest/types.js';
import { createReapiClient } from '../reapi/client.js';
import type { ReapiClientOptions } from '../reapi/connection.js';
import type { Store } from '../store/types.js';
import { RemoteCacheError } from './errors.js';
import type { RemoteCacheEvent } from './events.js';
import { createRemoteStore, type RemoteStore } from './remote-store.js';
import type { RemoteConnectionOptions, ResolvedRemoteCache } from './settings.js';

export interface OpenRemoteCacheOptions {
  /** The key that signs uploads when the settings name none: the build's own signing key. */
  defaultSignKey?: string;
  onEvent?: (event: RemoteCacheEvent) => void;
}

/**
 * Reads what the settings name (trusted keys, the signing key, TLS files, the token), then
 * composes `local` with the remote cache. Nothing is dialled until the first lookup. Unreadable
 * keys are bad input (AttestError, exit 2), refused before any work.
 */
export async function openRemoteCache(settings: ResolvedRemoteCache, local: Store, options: OpenRemoteCacheOptions = {}): Promise<RemoteStore> {
  const keys = await Promise.all(settings.trust.map((file) => readTrustedKey(file)));
  const keyFile = settings.signKey === false ? undefined : settings.signKey ?? options.defaultSignKey;
  const signer: Signer | undefined = keyFile === undefined || !settings.upload ? undefined : await readSigner(keyFile);
  const remote = createReapiClient(await clientOptions(settings.endpoint, settings.connection));
  return createRemoteStore({
    local,
    remote,
    trust: { keys, trustServer: settings.trustServer },
    ...(signer && { signer }),
    readActions: settings.readActions,
    upload: settings.upload,
    ...(options.onEvent && { onEvent: options.onEvent }),
  });
}

/** The client options of an endpoint: TLS files and the token file read, headers split. */
export async function clientOptions(endpoint: string, connection: RemoteConnectionOptions & { bearerToken?: string }): Promise<ReapiClientOptions> {
  const read = async (file: string, what: string) => {
    try {
      return await readFile(file);
    } catch (err) {
      throw new RemoteCacheError('KILN_CACHE_BAD_OPTIONS', `cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err, where: { file } });
    }
  };
  const tls = {
    ...(connection.tlsCa !== undefined && { ca: await read(connection.tlsCa, 'the TLS CA') }),
    ...(connection.tlsCert !== undefined && { cert: await read(connection.tlsCert, 'the TLS client certificate') }),
    ...(connection.tlsKey !== undefined && { key: await read(connection.tlsKey, 'the TLS client key') }),
  };
  const token = connection.bearerTokenFile !== undefined ? (await read(connection.bearerTokenFile, 'the bearer token')).toString('utf8').trim() : connection.bearerToken;
  const headers = Object.fromEntries((connection.headers ?? []).map((h) => [h.slice(0, h.indexOf('=')).toLowerCase(), h.slice(h.indexOf('=') + 1)]));
  return {
    endpoint,
    ...(Object.keys(tls).length > 0 && { tls }),
    ...(Object.keys(headers).length > 0 && { headers }),
    ...(token !== undefined && token !== '' && { bearerToken: token }),
  };
}
