import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { BuildVariation } from '../builder/index.js';
import type { ClockMethod } from '../plan/index.js';
import { defaultSandboxProfileFile } from '../sandbox/profile.js';
import type { EngineFeature } from '../sandbox/types.js';
import { canonicalJSON } from '../util/canonical-json.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { CheckError } from './errors.js';

export const VARIATIONS_FORMAT = 'check-variations/v1';
/** Relative to the repository root, beside sandbox/profile.json. */
export const VARIATIONS_FILE = 'sandbox/variations.yaml';
/** The variation that is a moment, not a setting: builds run later in real time. */
export const TIME_VARIATION = 'time';

/** How one variation is applied (the `apply` map of sandbox/variations.yaml). */
export interface VariationApply {
  env?: Record<string, string>;
  home?: string;
  user?: string;
  umask?: string;
  workdir?: string;
  hostname?: string;
  domainname?: string;
  cpus?: number;
  tmpfs?: boolean;
  /** `memory`: inputs and needed steps from in-memory file systems written in sorted order. */
  mounts?: 'memory';
  schedule?: 'later';
  /** Seconds added to the clock the steps read, through libfaketime where the image takes it. */
  faketime?: number;
}

/** One variation, as data. */
export interface Variation {
  name: string;
  description: string;
  changes: string;
  apply: VariationApply;
  supported: boolean;
  /** Why it is unsupported. */
  reason?: string;
  note?: string;
}

export interface VariationSet {
  variations: Variation[];
  /** sha256 of the canonical JSON of the parsed set: recorded in the check statement. */
  digest: Digest;
  file: string;
}

const APPLY_KEYS = new Set(['env', 'home', 'user', 'umask', 'workdir', 'hostname', 'domainname', 'cpus', 'tmpfs', 'mounts', 'schedule', 'faketime']);
const VARIATION_KEYS = new Set(['name', 'description', 'changes', 'apply', 'supported', 'reason', 'note']);

/** Reads a variation set (default: the repository's sandbox/variations.yaml). */
export async function loadVariations(file?: string): Promise<VariationSet> {
  const path = file ?? join(await defaultSandboxProfileFile(), '..', 'variations.yaml');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CheckError('KILN_CHECK_BAD_VARIATIONS', `cannot read the variation set ${path}`, { cause: err, where: { file: path } });
  }
  return parseVariations(text, path);
}

/** Pure: parses and validates a variation set; an unknown key is an error, not ignored. */
export function parseVariations(text: string, file: string): VariationSet {
  const bad = (message: string, cause?: unknown) => new CheckError('KILN_CHECK_BAD_VARIATIONS', `${file}: ${message}`, { cause, where: { file } });
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw bad('not valid YAML', err);
  }
  if (!isObject(doc) || doc.kiln !== VARIATIONS_FORMAT) throw bad(`expected "kiln: ${VARIATIONS_FORMAT}"`);
  if (!Array.isArray(doc.variations) || doc.variations.length === 0) throw bad('"variations" must be a non-empty list');
  const seen = new Set<string>();
  const variations = doc.variations.map((raw: unknown, i: number): Variation => {
    if (!isObject(raw)) throw bad(`variation ${i} is not a map`);
    for (const k of Object.keys(raw)) if (!VARIATION_KEYS.has(k)) throw bad(`variation ${i}: unknown key "${k}"`);
    const name = raw.name;
    if (typeof name !== 'string' || !/^[a-z][a-z0-9_]*$/.test(name)) throw bad(`variation ${i}: "name" must match [a-z][a-z0-9_]*`);
    if (seen.has(name)) throw bad(`variation "${name}" is listed twice`);
    seen.add(name);
    const str = (k: string, required: boolean): string | undefined => {
      const v = raw[k];
      if (v === undefined && !required) return undefined;
      if (typeof v !== 'string' || v === '') throw bad(`variation "${name}": "${k}" must be a non-empty string`);
      return v;
    };
    const supported = raw.supported ?? true;
    if (typeof supported !== 'boolean') throw bad(`variation "${name}": "supported" must be true or false`);
    const reason = str('reason', !supported);
    const apply = parseApply(raw.apply ?? {}, (m) => bad(`variation "${name}": ${m}`));
    if (supported && Object.keys(apply).length === 0) throw bad(`variation "${name}": a supported variation must apply something`);
    return {
      name,
      description: str('description', true)!,
      changes: str('changes', true)!,
      apply,
      supported,
      ...(reason !== undefined && { reason }),
      ...(raw.note !== undefined && { note: str('note', true)! }),
    };
  });
  return { variations, digest: sha256Digest(canonicalJSON(variations)), file };
}

function parseApply(raw: unknown, bad: (m: string) => Error): VariationApply {
  if (!isObject(raw)) throw bad('"apply" must be a map');
  const out: VariationApply = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!APPLY_KEYS.has(k)) throw bad(`unknown apply key "${k}"`);
    switch (k) {
      case 'env':
        if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string')) throw bad('"env" must map names to strings');
        for (const name of Object.keys(v)) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name === 'SOURCE_DATE_EPOCH' || name === 'KILN_OUT' || name === 'HOME') throw bad(`"env" may not set "${name}"`);
        out.env = v as Record<string, string>;
        break;
      case 'user':
        if (typeof v !== 'string' || !/^\d+:\d+$/.test(v)) throw bad('"user" must be "<uid>:<gid>"');
        out.user = v;
        break;
      case 'umask':
        if (typeof v !== 'string' || !/^0?[0-7]{3}$/.test(v)) throw bad('"umask" must be octal, e.g. "0002"');
        out.umask = v;
        break;
      case 'home':
      case 'workdir':
        if (typeof v !== 'string' || !v.startsWith('/') || v.split('/').includes('..')) throw bad(`"${k}" must be an absolute path without ..`);
        if (k === 'workdir' && (v === '/' || v.startsWith('/kiln/') || v === '/tmp')) throw bad('"workdir" must not be a contract path');
        out[k] = v;
        break;
      case 'hostname':
      case 'domainname':
        if (typeof v !== 'string' || !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(v)) throw bad(`"${k}" must be a host name`);
        out[k] = v;
        break;
      case 'cpus':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad('"cpus" must be a positive integer');
        out.cpus = v;
        break;
      case 'tmpfs':
        if (v !== true) throw bad('"tmpfs" must be true');
        out.tmpfs = true;
        break;
      case 'mounts':
        if (v !== 'memory') throw bad('"mounts" must be "memory"');
        out.mounts = 'memory';
        break;
      case 'schedule':
        if (v !== 'later') throw bad('"schedule" must be "later"');
        out.schedule = 'later';
        break;
      case 'faketime':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad('"faketime" must be a positive number of seconds');
        out.faketime = v;
        break;
    }
  }
  return out;
}

/**
 * Pure: the variations named (all of the set when none are), in the set's order; an unknown
 * name is bad input.
 */
export function selectVariations(set: VariationSet, names?: string[]): Variation[] {
  if (!names || names.length === 0) return set.variations;
  const known = new Map(set.variations.map((v) => [v.name, v]));
  for (const n of names) {
    if (!known.has(n)) {
      throw new CheckError('KILN_CHECK_UNKNOWN_VARIATION', `unknown variation "${n}"`, { expected: [...known.keys()].join(', '), found: n, where: { file: set.file } });
    }
  }
  const wanted = new Set(names);
  return set.variations.filter((v) => wanted.has(v.name));
}

/**
 * Why a supported variation cannot run here, or undefined when it can. `host.features`: what the
 * engine can do beyond the contract (absent: not consulted).
 */
export function unavailableReason(v: Variation, host: { cpus: number; features?: readonly EngineFeature[] }): string | undefined {
  if (!v.supported) return v.reason ?? 'not supported on this engine';
  const lacks = (f: EngineFeature) => host.features !== undefined && !host.features.includes(f);
  if (v.apply.user !== undefined && lacks('any-user')) return 'the engine runs every step as one user (a farm\'s runners)';
  if ((v.apply.hostname !== undefined || v.apply.domainname !== undefined) && lacks('uts-names')) return 'the engine cannot rename the host (a farm\'s workers have fixed names)';
  if (v.apply.cpus !== undefined && lacks('cpuset')) return 'the engine cannot restrict a step to some CPUs';
  if (v.apply.tmpfs && lacks('tmpfs')) return 'the engine cannot give a step in-memory folders';
  if (v.apply.cpus !== undefined && host.cpus <= v.apply.cpus) return `the engine's host has ${host.cpus} CPU(s): no fewer than that to offer`;
  return undefined;
}

/** A fresh `{random}` value for one check: the same in every build of the check, so keys can match. */
export function checkToken(): string {
  return randomBytes(4).toString('hex');
}

/** What the engine and the host offer to the variations that need more than settings. */
export interface VariationMeans {
  /** The engine can place inputs and needed steps in memory (`mounts: memory`). */
  memoryMounts: boolean;
  /** A libfaketime in the store to inject where an image has none (`faketime`). */
  faketimeLibrary?: { digest: Digest; size: number };
}

/**
 * Pure: several variations applied at once, as build settings. Later variations win where two
 * set the same thing (none of the bundled ones do). `time` is a moment (the build runs later)
 * and, with `faketime`, a shifted clock for the images that take libfaketime.
 */
export function toBuildVariation(variations: Variation[], token: string, means: VariationMeans = { memoryMounts: false }): BuildVariation {
  const plan: NonNullable<BuildVariation['plan']> = {};
  const engine: NonNullable<BuildVariation['engine']> = {};
  let tmpfs = false;
  let mountsInMemory = false;
  let clock: BuildVariation['clock'];
  for (const { apply: a } of variations) {
    if (a.env) plan.env = { ...plan.env, ...a.env };
    if (a.home !== undefined) plan.home = a.home;
    if (a.user !== undefined) plan.user = a.user;
    if (a.umask !== undefined) plan.umask = a.umask;
    if (a.workdir !== undefined) plan.workdir = a.workdir.replaceAll('{random}', token);
    if (a.hostname !== undefined) engine.hostname = a.hostname;
    if (a.domainname !== undefined) engine.domainname = a.domainname;
    if (a.cpus !== undefined) engine.cpusetCpus = a.cpus === 1 ? '0' : `0-${a.cpus - 1}`;
    if (a.tmpfs) tmpfs = true;
    if (a.mounts === 'memory' && means.memoryMounts) mountsInMemory = true;
    if (a.faketime !== undefined) clock = { offsetSeconds: a.faketime, ...(means.faketimeLibrary && { library: means.faketimeLibrary }) };
  }
  return {
    ...(Object.keys(plan).length > 0 && { plan }),
    ...(Object.keys(engine).length > 0 && { engine }),
    ...(tmpfs && { tmpfs }),
    ...(mountsInMemory && { mountsInMemory }),
    ...(clock && { clock }),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** How a variation was applied in one check: a `+`-joined list of mechanisms, and what limited them. */
export interface VariationMethod {
  /** e.g. `env`, `user`, `uts-names`, `tmpfs-scratch+tmpfs-mounts`, `libfaketime+later-run`, `later-run`. */
  method: string;
  detail?: string;
}

/**
 * Pure: the mechanisms a variation used here. `mounts: memory` counts only on an engine that
 * can; `faketime` only where some image's steps took libfaketime (`clocks`, from the time
 * build's summary), the rest had the later run alone.
 */
export function variationMethod(v: Variation, means: VariationMeans, clocks?: Record<string, ClockMethod>): VariationMethod {
  const a = v.apply;
  const used: string[] = [];
  const notes: string[] = [];
  const use = (m: string) => void (used.includes(m) || used.push(m));
  if (a.env || a.home !== undefined) use('env');
  if (a.user !== undefined) use('user');
  if (a.umask !== undefined) use('umask-prologue');
  if (a.workdir !== undefined) use('workdir');
  if (a.hostname !== undefined || a.domainname !== undefined) use('uts-names');
  if (a.cpus !== undefined) use('cpuset');
  if (a.tmpfs) use('tmpfs-scratch');
  if (a.mounts === 'memory') {
    if (means.memoryMounts) use('tmpfs-mounts');
    else notes.push('the engine cannot place mounts in memory: inputs and needed steps are listed in its usual order');
  }
  if (a.faketime !== undefined) {
    const entries = Object.entries(clocks ?? {});
    if (entries.some(([, c]) => c.method === 'libfaketime')) use('libfaketime');
    for (const [image, c] of entries) {
      notes.push(c.method === 'libfaketime' ? `image ${image}: libfaketime ${c.source === 'image' ? 'from the image' : 'injected'} (${c.library}), clock +${c.offsetSeconds} s` : `image ${image}: real clock (${c.reason})`);
    }
    if (entries.length === 0) notes.push('no image was probed: the clock was not shifted');
  }
  if (a.schedule === 'later') use('later-run');
  return { method: used.join('+') || 'none', ...(notes.length > 0 && { detail: notes.join('; ') }) };
}
