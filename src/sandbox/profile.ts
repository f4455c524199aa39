import { access, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalJSON } from '../util/canonical-json.js';
import { sha256Digest } from '../util/digest.js';
import { SandboxError } from './errors.js';
import type { LoadedSandboxProfile, SandboxException, SandboxLimits, SandboxProfile } from './types.js';
import { showValue } from '../util/show-value.js';

/** Where the profile lives inside the package: `<package root>/sandbox/profile.json`. */
export const SANDBOX_PROFILE_PATH = join('sandbox', 'profile.json');

/** A note for auditors, allowed at the top level and left out of the profile and its digest. */
const COMMENT_KEY = '$comment';

const KEYS: readonly (keyof SandboxProfile)[] = [
  'version', 'hostname', 'domainname', 'network', 'capabilities', 'noNewPrivileges', 'limits', 'env', 'umask', 'workdir',
];
/** Optional members: absent means none. */
const OPTIONAL_KEYS: readonly (keyof SandboxProfile)[] = ['exceptions'];
const LIMIT_KEYS: readonly (keyof SandboxLimits)[] = ['pids', 'memoryBytes', 'outputBytes', 'decompressedBytes'];
/**
 * Capabilities an exception may keep: owner and permission changes that package managers
 * make. Never network, mount, ptrace, module or raw-IO capabilities.
 */
const EXCEPTION_CAPABILITIES = new Set(['CHOWN', 'FOWNER', 'FSETID', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'SETUID', 'SETGID']);

const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CAPABILITY = /^(CAP_)?[A-Z_]+$/;
/** Docker refuses a memory limit under 6 MiB; a smaller value here is a typo. */
const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

/**
 * Reads and validates the sandbox profile. Default: the `sandbox/profile.json` shipped in this
 * package, found by walking up from this module to the folder holding package.json (the module
 * runs from `src/sandbox/` under tsx and from `dist/src/sandbox/` when built).
 */
export async function loadSandboxProfile(file?: string): Promise<LoadedSandboxProfile> {
  const path = file ?? (await defaultSandboxProfileFile());
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SandboxError('KILN_SANDBOX_BAD_PROFILE', `cannot read the sandbox profile ${path}`, {
      cause: err,
      where: { file: path },
    });
  }
  return parseSandboxProfile(text, path);
}

/** The package's own profile file. */
export async function defaultSandboxProfileFile(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (await exists(join(dir, 'package.json'))) return join(dir, SANDBOX_PROFILE_PATH);
    const parent = dirname(dir);
    if (parent === dir) {
      throw new SandboxError('KILN_SANDBOX_BAD_PROFILE', 'cannot find the kiln package root (no package.json above the sandbox module)');
    }
    dir = parent;
  }
}

/** Parses and validates profile text; `file` only names where it came from. The digest covers the profile without its comment. */
export function parseSandboxProfile(text: string, file: string): LoadedSandboxProfile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw bad(file, `is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const profile = toSandboxProfile(value, file);
  return { profile, digest: sha256Digest(canonicalJSON(profile)), file };
}

/** Validates a parsed profile and returns it without the auditor's comment. */
export function toSandboxProfile(value: unknown, file: string): SandboxProfile {
  if (!isRecord(value)) throw bad(file, 'must be a JSON object');
  assertKeys(value, file);
  if (value.version !== 2) throw bad(file, 'has an unsupported "version"', { expected: '2', found: showValue(value.version) });
  const hostname = value.hostname;
  if (typeof hostname !== 'string' || !HOST_LABEL.test(hostname)) throw bad(file, '"hostname" must be one lowercase DNS label');
  const domainname = value.domainname;
  if (typeof domainname !== 'string' || (domainname !== '' && !domainname.split('.').every((l) => HOST_LABEL.test(l)))) {
    throw bad(file, '"domainname" must be empty or a lowercase DNS name');
  }
  // The three settings below are the isolation kiln promises; a profile may not weaken them.
  if (value.network !== 'none') throw bad(file, 'must keep steps off the network', { expected: 'network "none"', found: JSON.stringify(value.network) });
  const capabilities = value.capabilities;
  if (!isStringArray(capabilities) || !capabilities.every((c) => CAPABILITY.test(c) && c.replace(/^CAP_/, '') !== 'ALL')) {
    throw bad(file, '"capabilities" must be a list of capability names (not ALL)', { found: JSON.stringify(capabilities) });
  }
  if (value.noNewPrivileges !== true) {
    throw bad(file, 'must forbid gaining privileges', { expected: 'noNewPrivileges true', found: JSON.stringify(value.noNewPrivileges) });
  }
  const limits = toLimits(value.limits, file);
  const env = value.env;
  if (!isRecord(env)) throw bad(file, '"env" must be an object of strings');
  for (const [name, v] of Object.entries(env)) {
    if (!ENV_NAME.test(name) || typeof v !== 'string') throw bad(file, `"env.${name}" must be a variable name with a string value`);
  }
  const umask = value.umask;
  if (typeof umask !== 'string' || !/^0?[0-7]{3}$/.test(umask)) throw bad(file, '"umask" must be octal text like "0022"');
  const workdir = value.workdir;
  if (typeof workdir !== 'string' || !workdir.startsWith('/')) throw bad(file, '"workdir" must be an absolute path');
  const exceptions = value.exceptions === undefined ? undefined : toExceptions(value.exceptions, file);
  return {
    version: 2, hostname, domainname, network: 'none', capabilities: [...capabilities], noNewPrivileges: true, limits,
    env: { ...(env as Record<string, string>) }, umask, workdir,
    ...(exceptions && { exceptions }),
  };
}

function assertKeys(value: Record<string, unknown>, file: string): void {
  for (const key of Object.keys(value)) {
    if (key !== COMMENT_KEY && !(KEYS as readonly string[]).includes(key) && !(OPTIONAL_KEYS as readonly string[]).includes(key)) throw bad(file, `has an unknown key "${key}"`);
  }
  for (const key of KEYS) if (!(key in value)) throw bad(file, `is missing "${key}"`);
  const comment = value[COMMENT_KEY];
  if (comment !== undefined && typeof comment !== 'string' && !isStringArray(comment)) {
    throw bad(file, `"${COMMENT_KEY}" must be a string or a list of strings`);
  }
}

function toLimits(value: unknown, file: string): SandboxLimits {
  if (!isRecord(value)) throw bad(file, '"limits" must be an object');
  for (const key of Object.keys(value)) if (!(LIMIT_KEYS as readonly string[]).includes(key)) throw bad(file, `"limits" has an unknown key "${key}"`);
  const limits = {
    pids: positiveInteger(value.pids, 'limits.pids', file),
    memoryBytes: positiveInteger(value.memoryBytes, 'limits.memoryBytes', file),
    outputBytes: positiveInteger(value.outputBytes, 'limits.outputBytes', file),
    decompressedBytes: positiveInteger(value.decompressedBytes, 'limits.decompressedBytes', file),
  };
  if (limits.memoryBytes < MIN_MEMORY_BYTES) throw bad(file, `"limits.memoryBytes" must be at least ${MIN_MEMORY_BYTES}`);
  // Decompressing an output may not cost more than the output itself was allowed to.
  if (limits.decompressedBytes > limits.outputBytes) {
    throw bad(file, '"limits.decompressedBytes" may not exceed "limits.outputBytes"', { expected: `at most ${limits.outputBytes}`, found: String(limits.decompressedBytes) });
  }
  return limits;
}

function toExceptions(value: unknown, file: string): Record<string, SandboxException> {
  if (!isRecord(value)) throw bad(file, '"exceptions" must be an object of named exceptions');
  const out: Record<string, SandboxException> = {};
  for (const [name, ex] of Object.entries(value)) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw bad(file, `exception name "${name}" must be lowercase letters, digits and '-'`);
    if (!isRecord(ex)) throw bad(file, `exception "${name}" must be an object`);
    for (const key of Object.keys(ex)) if (!['user', 'capabilities', 'reason'].includes(key)) throw bad(file, `exception "${name}" has an unknown key "${key}"`);
    if (typeof ex.user !== 'string' || !/^(?:0|[1-9][0-9]{0,9}):(?:0|[1-9][0-9]{0,9})$/.test(ex.user)) throw bad(file, `exception "${name}": "user" must be "<uid>:<gid>"`);
    const capabilities = ex.capabilities;
    if (!isStringArray(capabilities) || !capabilities.every((c) => EXCEPTION_CAPABILITIES.has(c.replace(/^CAP_/, '')))) {
      throw bad(file, `exception "${name}": "capabilities" may only name ${[...EXCEPTION_CAPABILITIES].join(', ')}`, { found: JSON.stringify(capabilities) });
    }
    if (typeof ex.reason !== 'string' || ex.reason.trim() === '') throw bad(file, `exception "${name}" must say why in "reason"`);
    out[name] = { user: ex.user, capabilities: [...capabilities], reason: ex.reason };
  }
  return out;
}

function positiveInteger(v: unknown, key: string, file: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw bad(file, `"${key}" must be a positive integer`);
  return v;
}

function bad(file: string, what: string, extra: { cause?: unknown; expected?: string; found?: string } = {}): SandboxError {
  return new SandboxError('KILN_SANDBOX_BAD_PROFILE', `sandbox profile ${what}`, { ...extra, where: { file } });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
