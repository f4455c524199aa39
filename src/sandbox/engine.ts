import { readFile } from 'node:fs/promises';
import { parseEndpoint } from '../reapi/endpoint.js';
import { SandboxError } from './errors.js';
import type { Engine, EngineKind, SandboxProfile } from './types.js';

/** Every backend kiln has; `--engine` and KILN_ENGINE name one of these. */
export const ENGINE_KINDS: readonly EngineKind[] = ['docker', 'reapi'];

/**
 * A Remote Execution API farm to run actions on (`--engine reapi`). Every field falls back to
 * an environment variable, so CI can configure a farm once: KILN_REMOTE_EXECUTOR,
 * KILN_REMOTE_CA, KILN_REMOTE_BEARER_TOKEN, KILN_REMOTE_PLATFORM (`name=value,…`).
 */
export interface RemoteEngineConfig {
  /** `grpc://host:port[/instance]` or `grpcs://host[:port][/instance]`. */
  executor?: string;
  /** PEM file of the CA that signed the farm's certificate (grpcs; default: the system's roots). */
  caFile?: string;
  /** PEM files of a client certificate and its key, for farms that want mutual TLS. */
  certFile?: string;
  keyFile?: string;
  /** Sent with every call (an API key header). Never recorded anywhere. */
  headers?: Record<string, string>;
  /** Sent as `authorization: Bearer …`, over TLS only. Never recorded anywhere. */
  bearerToken?: string;
  /** A file holding the bearer token (read when the engine is made; wins over `bearerToken`). */
  bearerTokenFile?: string;
  /** Platform properties every action carries; default `OSFamily=linux`. */
  platform?: Record<string, string>;
  /** `uid:gid` the farm runs commands as (default 1000:1000); actions for another user are refused. */
  user?: string;
  /** Privileged actions (a debian image's assembly): on the local engine (default), or refused. */
  privileged?: 'local' | 'refuse';
}

export interface EngineConfig {
  /** Default: $KILN_ENGINE, else `reapi` when a remote executor is configured, else `docker`. */
  kind?: string;
  profile: SandboxProfile;
  remote?: RemoteEngineConfig;
}

/** Which engine to make, without the profile: what `build()`, `rebuild()` and `check()` take. */
export type EngineChoice = Omit<EngineConfig, 'profile'>;

/**
 * The engine a choice resolves to, checked before any work (a build makes its engine only when
 * a step must run): an unknown kind, a farm without an endpoint or with a malformed one is bad usage.
 */
export function checkEngineChoice(choice: EngineChoice = {}, env: NodeJS.ProcessEnv = process.env): EngineKind {
  const remote = resolveRemoteConfig(choice.remote, env);
  const kind = resolveEngineKind(choice.kind ?? (env.KILN_ENGINE || (remote.executor !== undefined ? 'reapi' : undefined)));
  if (kind === 'reapi') {
    if (remote.executor === undefined) throw noExecutor();
    parseEndpoint(remote.executor);
  }
  return kind;
}

function noExecutor(): SandboxError {
  return new SandboxError('KILN_SANDBOX_BAD_ENGINE', 'the reapi engine needs a farm to talk to', { hint: 'pass --remote-executor grpc[s]://host:port[/instance] or set KILN_REMOTE_EXECUTOR' });
}

/** The backend a name asks for; an unknown name is bad usage (exit 2), never a silent default. */
export function resolveEngineKind(name: string | undefined = process.env.KILN_ENGINE): EngineKind {
  const kind = name === undefined || name === '' ? 'docker' : name;
  if (!(ENGINE_KINDS as readonly string[]).includes(kind)) {
    throw new SandboxError('KILN_SANDBOX_BAD_ENGINE', `unknown engine "${kind}"`, { expected: ENGINE_KINDS.join(' | '), found: kind });
  }
  return kind as EngineKind;
}

/** The remote settings with the environment's filled in; pure given `env`. */
export function resolveRemoteConfig(remote: RemoteEngineConfig = {}, env: NodeJS.ProcessEnv = process.env): RemoteEngineConfig {
  const fromEnv = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const executor = remote.executor ?? fromEnv('KILN_REMOTE_EXECUTOR');
  const caFile = remote.caFile ?? fromEnv('KILN_REMOTE_CA');
  const bearerToken = remote.bearerToken ?? (remote.bearerTokenFile === undefined ? fromEnv('KILN_REMOTE_BEARER_TOKEN') : undefined);
  const platformText = fromEnv('KILN_REMOTE_PLATFORM');
  const platform = remote.platform ?? (platformText === undefined ? undefined : parseKeyValues(platformText.split(','), 'KILN_REMOTE_PLATFORM'));
  return {
    ...remote,
    ...(executor !== undefined && { executor }),
    ...(caFile !== undefined && { caFile }),
    ...(bearerToken !== undefined && { bearerToken }),
    ...(platform !== undefined && { platform }),
  };
}

/** `name=value` pairs (platform properties, headers) as a record; a pair without `=` is bad usage. */
export function parseKeyValues(pairs: readonly string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs.map((p) => p.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new SandboxError('KILN_SANDBOX_BAD_ENGINE', `${what} takes name=value, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/**
 * The engine a build runs its actions on. Each backend is loaded only when chosen, so a build
 * served from the cache loads none.
 */
export async function createEngine(config: EngineConfig): Promise<Engine> {
  const remote = resolveRemoteConfig(config.remote);
  const kind = checkEngineChoice(config);
  switch (kind) {
    case 'docker': {
      const { createDockerEngine } = await import('./docker.js');
      return createDockerEngine({ profile: config.profile });
    }
    case 'reapi':
      return createRemoteEngine(config.profile, remote);
  }
}

async function createRemoteEngine(profile: SandboxProfile, remote: RemoteEngineConfig): Promise<Engine> {
  if (remote.executor === undefined) throw noExecutor();
  const read = async (file: string | undefined, what: string) => {
    if (file === undefined) return undefined;
    return readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new SandboxError('KILN_SANDBOX_BAD_ENGINE', `cannot read the remote executor's ${what} ${file}: ${err.code ?? err.message}`, { cause: err, where: { file } });
    });
  };
  const [ca, cert, key, tokenFile] = await Promise.all([
    read(remote.caFile, 'CA'), read(remote.certFile, 'client certificate'), read(remote.keyFile, 'client key'), read(remote.bearerTokenFile, 'bearer token file'),
  ]);
  const bearerToken = tokenFile ? tokenFile.toString('utf8').trim() : remote.bearerToken;
  const tls = ca || cert || key ? { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) } : undefined;
  const { createReapiEngine } = await import('./reapi.js');
  return createReapiEngine({
    profile,
    connection: {
      endpoint: remote.executor,
      ...(tls && { tls }),
      ...(remote.headers && { headers: remote.headers }),
      ...(bearerToken !== undefined && { bearerToken }),
    },
    ...(remote.platform && { platform: remote.platform }),
    ...(remote.user !== undefined && { user: remote.user }),
    ...(remote.privileged !== 'refuse' && { privileged: () => createEngine({ kind: 'docker', profile }) }),
  });
}
