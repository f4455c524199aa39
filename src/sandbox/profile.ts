import { access, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalJSON } from '../util/canonical-json.js';
import { sha256Digest } from '../util/digest.js';
import { SandboxError } from './errors.js';
import type { LoadedSandboxProfile, SandboxException, SandboxProfile } from './types.js';

/** Where the profile lives inside the package: `<package root>/sandbox/profile.json`. */
export const SANDBOX_PROFILE_PATH = join('sandbox', 'profile.json');

/** A note for auditors, allowed at the top level and left out of the profile and its digest. */
const COMMENT_KEY = '$comment';

const KEYS: readonly (keyof SandboxProfile)[] = [
  'version', 'hostname', 'domainname', 'networkMode', 'capDrop', 'capAdd', 'securityOpt',
  'pidsLimit', 'memoryBytes', 'env', 'umask', 'workdir', 'maxOutputBytes', 'maxDecompressedBytes',
];
/** Optional members: absent means none. */
const OPTIONAL_KEYS: readonly (keyof SandboxProfile)[] = ['exceptions'];
/**
 * Capabilities an exception may add back: owner and permission changes that package managers
 * make. Never network, mount, ptrace, module or raw-IO capabilities.
 */
const EXCEPTION_CAPABILITIES = new Set(['CHOWN', 'FOWNER', 'FSETID', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'SETUID', 'SETGID']);

const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CAPABILITY = /^(ALL|(CAP_)?[A-Z_]+)$/;
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
  for (const key of Object.keys(value)) {
    if (key !== COMMENT_KEY && !(KEYS as readonly string[]).includes(key) && !(OPTIONAL_KEYS as readonly string[]).includes(key)) throw bad(file, `has an unknown key "${key}"`);
  }
  for (const key of KEYS) if (!(key in value)) throw bad(file, `is missing "${key}"`);
  const comment = value[COMMENT_KEY];
  if (comment !== undefined && typeof comment !== 'string' && !isStringArray(comment)) {
    throw bad(file, `"${COMMENT_KEY}" must be a string or a list of strings`);
  }

  if (value.version !== 1) throw bad(file, 'has an unsupported "version"', { expected: '1', found: String(value.version) });
  const hostname = value.hostname;
  if (typeof hostname !== 'string' || !HOST_LABEL.test(hostname)) throw bad(file, '"hostname" must be one lowercase DNS label');
  const domainname = value.domainname;
  if (typeof domainname !== 'string' || (domainname !== '' && !domainname.split('.').every((l) => HOST_LABEL.test(l)))) {
    throw bad(file, '"domainname" must be empty or a lowercase DNS name');
  }
  // The three settings below are the isolation kiln promises; a profile may not weaken them.
  if (value.networkMode !== 'none') {
    throw bad(file, 'must keep steps off the network', { expected: 'networkMode "none"', found: JSON.stringify(value.networkMode) });
  }
  const capDrop = value.capDrop;
  if (!isStringArray(capDrop) || !capDrop.every((c) => CAPABILITY.test(c))) throw bad(file, '"capDrop" must be a list of capability names');
  if (!capDrop.includes('ALL')) throw bad(file, 'must drop every capability', { expected: 'capDrop containing "ALL"', found: JSON.stringify(capDrop) });
  const capAdd = value.capAdd;
  if (!isStringArray(capAdd) || !capAdd.every((c) => CAPABILITY.test(c) && c !== 'ALL')) {
    throw bad(file, '"capAdd" must be a list of capability names (not ALL)');
  }
  const securityOpt = value.securityOpt;
  if (!isStringArray(securityOpt)) throw bad(file, '"securityOpt" must be a list of strings');
  if (!securityOpt.some((o) => o === 'no-new-privileges' || o === 'no-new-privileges:true')) {
    throw bad(file, 'must forbid gaining privileges', { expected: 'securityOpt containing "no-new-privileges"', found: JSON.stringify(securityOpt) });
  }
  const pidsLimit = positiveInteger(value.pidsLimit, 'pidsLimit', file);
  const memoryBytes = positiveInteger(value.memoryBytes, 'memoryBytes', file);
  if (memoryBytes < MIN_MEMORY_BYTES) throw bad(file, `"memoryBytes" must be at least ${MIN_MEMORY_BYTES}`);
  const env = value.env;
  if (!isRecord(env)) throw bad(file, '"env" must be an object of strings');
  for (const [name, v] of Object.entries(env)) {
    if (!ENV_NAME.test(name) || typeof v !== 'string') throw bad(file, `"env.${name}" must be a variable name with a string value`);
  }
  const umask = value.umask;
  if (typeof umask !== 'string' || !/^0?[0-7]{3}$/.test(umask)) throw bad(file, '"umask" must be octal text like "0022"');
  const workdir = value.workdir;
  if (typeof workdir !== 'string' || !workdir.startsWith('/')) throw bad(file, '"workdir" must be an absolute path');
  const maxOutputBytes = positiveInteger(value.maxOutputBytes, 'maxOutputBytes', file);
  const maxDecompressedBytes = positiveInteger(value.maxDecompressedBytes, 'maxDecompressedBytes', file);
  // Decompressing an output may not cost more than the output itself was allowed to.
  if (maxDecompressedBytes > maxOutputBytes) {
    throw bad(file, '"maxDecompressedBytes" may not exceed "maxOutputBytes"', { expected: `at most ${maxOutputBytes}`, found: String(maxDecompressedBytes) });
  }
  const exceptions = value.exceptions === undefined ? undefined : toExceptions(value.exceptions, file);

  return {
    version: 1,
    hostname,
    domainname,
    networkMode: 'none',
    capDrop: [...capDrop],
    capAdd: [...capAdd],
    securityOpt: [...securityOpt],
    pidsLimit,
    memoryBytes,
    env: { ...(env as Record<string, string>) },
    umask,
    workdir,
    maxOutputBytes,
    maxDecompressedBytes,
    ...(exceptions && { exceptions }),
  };
}

function toExceptions(value: unknown, file: string): Record<string, SandboxException> {
  if (!isRecord(value)) throw bad(file, '"exceptions" must be an object of named exceptions');
  const out: Record<string, SandboxException> = {};
  for (const [name, ex] of Object.entries(value)) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw bad(file, `exception name "${name}" must be lowercase letters, digits and '-'`);
    if (!isRecord(ex)) throw bad(file, `exception "${name}" must be an object`);
    for (const key of Object.keys(ex)) if (!['user', 'capAdd', 'reason'].includes(key)) throw bad(file, `exception "${name}" has an unknown key "${key}"`);
    if (typeof ex.user !== 'string' || !/^(?:0|[1-9][0-9]{0,9}):(?:0|[1-9][0-9]{0,9})$/.test(ex.user)) throw bad(file, `exception "${name}": "user" must be "<uid>:<gid>"`);
    const capAdd = ex.capAdd;
    if (!isStringArray(capAdd) || !capAdd.every((c) => EXCEPTION_CAPABILITIES.has(c.replace(/^CAP_/, '')))) {
      throw bad(file, `exception "${name}": "capAdd" may only name ${[...EXCEPTION_CAPABILITIES].join(', ')}`, { found: JSON.stringify(capAdd) });
    }
    if (typeof ex.reason !== 'string' || ex.reason.trim() === '') throw bad(file, `exception "${name}" must say why in "reason"`);
    out[name] = { user: ex.user, capAdd: [...capAdd], reason: ex.reason };
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
