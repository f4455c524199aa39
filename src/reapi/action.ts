import { comparePaths } from '../store/tree.js';
import { digestOfBytes, type ReapiDigest } from './digest.js';
import { ReapiError } from './errors.js';
import { encode, REAPI_PACKAGE } from './proto.js';

/** What a Command says: argv, environment, working folder and outputs, all relative to the input root. */
export interface CommandSpec {
  arguments: string[];
  env: Record<string, string>;
  /** Relative to the input root, e.g. `kiln/work` ('' = the root). */
  workingDirectory?: string;
  /** Relative to the working directory (REAPI v2.1 output_paths), e.g. `../out`. */
  outputPaths: string[];
  /** Also fill the REv2.0 output_directories with `outputPaths`, for servers older than v2.1. */
  legacyOutputDirectories?: boolean;
  /** Platform properties, repeated in the Command for servers older than v2.2. */
  platform?: Record<string, string>;
}

/** What an Action says besides its Command: the input root, the platform, the timeout. */
export interface ActionSpec {
  command: ReapiDigest;
  inputRoot: ReapiDigest;
  /** Platform properties a worker must match exactly (Buildbarn: as its workers advertise). */
  platform?: Record<string, string>;
  timeoutMs?: number;
  /** The result must not enter the action cache (and no cached one is used). */
  doNotCache?: boolean;
  /** Bytes that make an otherwise equal Action differ (REAPI "salt"). */
  salt?: Uint8Array;
}

/** A message with its bytes and digest: what goes into the CAS. */
export interface EncodedMessage {
  digest: ReapiDigest;
  bytes: Buffer;
}

/** '' or a relative path without empty or `.` segments (REAPI v2: "a relative path"). */
function relativePath(path: string, what: string): string {
  if (path !== '' && path.split('/').some((p) => p === '' || p === '.')) {
    throw new ReapiError('KILN_REAPI_BAD_TREE', `${what} ${JSON.stringify(path)} must be a relative path without empty or . segments`);
  }
  return path;
}

function platformObject(platform: Record<string, string> | undefined): object | undefined {
  const entries = Object.entries(platform ?? {});
  if (entries.length === 0) return undefined;
  // REAPI v2 "Platform": sorted by name, then by value.
  const properties = entries
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => comparePaths(a.name, b.name) || comparePaths(a.value, b.value));
  return { properties };
}

/** The Command message, canonical (REAPI v2): environment sorted by name, output paths sorted and deduplicated. */
export function encodeCommand(spec: CommandSpec): EncodedMessage {
  if (spec.arguments.length === 0) throw new ReapiError('KILN_REAPI_BAD_TREE', 'a Command needs at least one argument');
  const workingDirectory = relativePath(spec.workingDirectory ?? '', 'working directory');
  const outputPaths = [...new Set(spec.outputPaths)].sort(comparePaths);
  for (const p of outputPaths) {
    if (p === '') throw new ReapiError('KILN_REAPI_BAD_TREE', 'an output path is empty');
    relativePath(p, 'output path');
  }
  const environmentVariables = Object.entries(spec.env)
    .map(([name, value]) => ({ name, ...(value !== '' && { value }) }))
    .sort((a, b) => comparePaths(a.name, b.name));
  const platform = platformObject(spec.platform);
  const bytes = encode(`${REAPI_PACKAGE}.Command`, {
    arguments: spec.arguments,
    ...(environmentVariables.length > 0 && { environmentVariables }),
    ...(spec.legacyOutputDirectories && outputPaths.length > 0 && { outputDirectories: outputPaths }),
    ...(platform && { platform }),
    ...(workingDirectory !== '' && { workingDirectory }),
    ...(outputPaths.length > 0 && { outputPaths }),
  });
  return { digest: digestOfBytes(bytes), bytes };
}

function digestObject(d: ReapiDigest): object {
  return d.sizeBytes === 0 ? { hash: d.hash } : { hash: d.hash, sizeBytes: d.sizeBytes };
}

/** The Action message, canonical: its digest is what the farm caches and runs. */
export function encodeAction(spec: ActionSpec): EncodedMessage {
  const platform = platformObject(spec.platform);
  let timeout: object | undefined;
  if (spec.timeoutMs !== undefined) {
    if (!Number.isSafeInteger(spec.timeoutMs) || spec.timeoutMs <= 0) throw new ReapiError('KILN_REAPI_BAD_TREE', `timeout ${spec.timeoutMs} ms is not a positive whole number`);
    const seconds = Math.floor(spec.timeoutMs / 1000);
    const nanos = (spec.timeoutMs % 1000) * 1_000_000;
    timeout = { ...(seconds > 0 && { seconds }), ...(nanos > 0 && { nanos }) };
  }
  const bytes = encode(`${REAPI_PACKAGE}.Action`, {
    commandDigest: digestObject(spec.command),
    inputRootDigest: digestObject(spec.inputRoot),
    ...(timeout && { timeout }),
    ...(spec.doNotCache && { doNotCache: true }),
    ...(spec.salt && spec.salt.length > 0 && { salt: Buffer.from(spec.salt) }),
    ...(platform && { platform }),
  });
  return { digest: digestOfBytes(bytes), bytes };
}
