import type { EngineChoice } from '../sandbox/index.js';
import { UsageError } from '../util/errors.js';
import type { OptionSpec } from './command.js';
import { REMOTE_CONNECTION_OPTIONS } from './options.js';

// Where steps run: the local engine, or a Remote Execution API farm (docs/remote-execution.md).
// The connection flags (TLS, headers, bearer token) are the shared cache's (`--remote-cache`):
// one set reaches both when a farm serves both on one endpoint.

export const ENGINE_OPTIONS = {
  engine: { type: 'string', choices: ['docker', 'reapi'], description: 'where steps run: the local engine, or a Remote Execution API farm (default $KILN_ENGINE, else reapi when a remote executor is set, else docker)' },
  'remote-executor': { type: 'string', value: 'URL', description: 'the farm that runs the steps: grpc://host:port[/instance] or grpcs://host[:port][/instance] (default $KILN_REMOTE_EXECUTOR)' },
  'remote-platform': { type: 'string', multiple: true, value: 'NAME=VALUE', description: "a platform property every action carries, as the farm's workers advertise (repeatable; default $KILN_REMOTE_PLATFORM, else OSFamily=linux)" },
  'remote-privileged': { type: 'string', choices: ['local', 'refuse'], description: "where privileged actions (a debian image's assembly) run with a farm: on the local engine (default) or nowhere" },
  // TLS, headers, a bearer token: the shared cache's flags, so one set reaches both.
  ...REMOTE_CONNECTION_OPTIONS,
} as const satisfies Record<string, OptionSpec>;

interface EngineValues {
  engine?: string;
  'remote-executor'?: string;
  'remote-platform'?: string[];
  'remote-privileged'?: string;
  'remote-tls-ca'?: string;
  'remote-tls-cert'?: string;
  'remote-tls-key'?: string;
  'remote-header'?: string[];
  'remote-bearer-token-file'?: string;
}

/** `NAME=VALUE` flags as a record; a pair without a name or `=` is bad usage naming the flag. */
function pairs(list: string[] | undefined, flag: string): Record<string, string> | undefined {
  if (list === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const pair of list) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} takes NAME=VALUE, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** The engine flags as `build()`'s `engineChoice`; flags left out fall back to the environment. */
export function engineOptions(values: EngineValues): EngineChoice {
  if ((values['remote-tls-cert'] === undefined) !== (values['remote-tls-key'] === undefined)) throw new UsageError('--remote-tls-cert and --remote-tls-key go together');
  const headers = pairs(values['remote-header'], '--remote-header');
  const platform = pairs(values['remote-platform'], '--remote-platform');
  return {
    ...(values.engine !== undefined && { kind: values.engine }),
    remote: {
      ...(values['remote-executor'] !== undefined && { executor: values['remote-executor'] }),
      ...(headers && { headers }),
      ...(values['remote-tls-ca'] !== undefined && { caFile: values['remote-tls-ca'] }),
      ...(values['remote-tls-cert'] !== undefined && { certFile: values['remote-tls-cert'], keyFile: values['remote-tls-key'] }),
      ...(values['remote-bearer-token-file'] !== undefined && { bearerTokenFile: values['remote-bearer-token-file'] }),
      ...(platform && { platform }),
      ...(values['remote-privileged'] !== undefined && { privileged: values['remote-privileged'] as 'local' | 'refuse' }),
    },
  };
}
