import type { ImageSpec, InputSpec, Recipe } from '../recipe/types.js';
import { canonicalJSON } from '../util/canonical-json.js';
import { isDigest, sha256Digest, type Digest } from '../util/digest.js';
import { snapshotRefProblem } from '../fetch/index.js';
import { BUDGET_NAMES, isOverBytes, MAX_LOCK_BYTES } from '../util/limits.js';
import { LockError } from './errors.js';
import { LOCK_FORMAT, type InputSource, type Lock, type LockedInput } from './types.js';

/** The recipe's words for an input's source (see InputSource). */
export function inputSource(spec: InputSpec): InputSource {
  const written: InputSource = spec.integrity === '' ? {} : { integrity: spec.integrity };
  switch (spec.kind) {
    case 'path':
      return { path: spec.path, ...written };
    case 'url':
      return { url: spec.url, ...written };
    case 'deb':
      return { deb: `${spec.package}=${spec.version}`, arch: spec.arch, ...written };
    case 'npm':
      return { npm: `${spec.package}@${spec.version}`, ...written };
    case 'git':
      return { git: spec.url, ...(spec.ref !== undefined && { ref: spec.ref }), ...(spec.commit !== '' && { commit: spec.commit }), ...written };
    case 'debsrc':
      return { debsrc: `${spec.package}=${spec.version}`, ...(spec.dsc !== undefined && { dsc: spec.dsc }), ...written };
  }
}

export function imageSource(spec: ImageSpec): Lock['images'][string] {
  switch (spec.kind) {
    case 'oci':
      return { oci: spec.ref };
    case 'rootfs':
      return { rootfs: spec.input };
    case 'step':
      return { step: spec.step };
    case 'debian':
      return { debian: { packages: [...spec.packages], arch: spec.arch } };
  }
}

/** What a lock's `recipe.specs` must equal for the lock to be fresh. */
export function specsDigest(recipe: Pick<Recipe, 'inputs' | 'images'>): Digest {
  const inputs = Object.fromEntries(Object.values(recipe.inputs).map((s) => [s.name, inputSource(s)]));
  const images = Object.fromEntries(Object.values(recipe.images).map((s) => [s.name, imageSource(s)]));
  return sha256Digest(canonicalJSON({ inputs, images }));
}

/** JSON with sorted keys and two-space indent, one trailing newline: stable and diffable. */
export function lockToText(lock: Lock): string {
  return `${JSON.stringify(sortKeys(lock), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  return Object.fromEntries(Object.keys(obj).filter((k) => obj[k] !== undefined).sort().map((k) => [k, sortKeys(obj[k])]));
}

const KINDS = new Set(['path', 'url', 'deb', 'npm', 'git', 'debsrc']);
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Snapshot coordinates reach URLs and paths: they must be well-formed. Undefined when absent or fine. */
function snapshotProblem(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const v = value as Record<string, unknown>;
  if (Object.keys(v).some((k) => !['archive', 'path', 'resolved'].includes(k))) return 'only archive, path and resolved';
  if (typeof v.archive !== 'string' || typeof v.path !== 'string' || typeof v.resolved !== 'string') return 'archive, path and resolved must be strings';
  return snapshotRefProblem({ archive: v.archive, path: v.path, resolved: v.resolved });
}

/**
 * Parses kiln.lock; pure (`file` names it in errors). Checks the shape that kiln relies on
 * (schemas/lock.schema.json documents it); anything else is KILN_LOCK_INVALID.
 */
export function parseLock(text: string, file: string): Lock {
  const bad = (why: string, cause?: unknown) =>
    new LockError('KILN_LOCK_INVALID', `${file} is not a kiln lock: ${why}`, {
      where: { file },
      ...(cause !== undefined && { cause }),
      hint: 'run `kiln lock --update` to write it afresh',
    });
  // Before JSON.parse: a lock embedded in someone's provenance is as untrusted as a file.
  if (isOverBytes(text, MAX_LOCK_BYTES)) throw lockTooLarge(file);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw bad('not valid JSON', err);
  }
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(data)) throw bad('not a JSON object');
  if (data.kiln !== LOCK_FORMAT) throw bad(`format ${JSON.stringify(data.kiln)}, expected ${JSON.stringify(LOCK_FORMAT)}`);
  if (!isObj(data.recipe) || !isDigest(data.recipe.specs)) throw bad('recipe.specs is not a sha256 digest');
  if (!isObj(data.inputs) || !isObj(data.images)) throw bad('inputs and images must be objects');
  const strings = (v: unknown): v is Record<string, string> => isObj(v) && Object.values(v).every((x) => typeof x === 'string');
  for (const [name, entry] of Object.entries(data.inputs)) {
    if (!isObj(entry) || typeof entry.kind !== 'string' || !KINDS.has(entry.kind)) throw bad(`input "${name}" has no known kind`);
    if (!strings(entry.source)) throw bad(`input "${name}" has no source`);
    if (typeof entry.integrity !== 'string' || entry.integrity === '') throw bad(`input "${name}" has no integrity`);
    for (const key of ['version', 'url', 'commit'] as const) {
      if (entry[key] !== undefined && typeof entry[key] !== 'string') throw bad(`input "${name}": ${key} is not a string`);
    }
    if (entry.files !== undefined && !Array.isArray(entry.files)) throw bad(`input "${name}": files is not a list`);
    if (entry.sha256 !== undefined && (typeof entry.sha256 !== 'string' || !SHA256_HEX.test(entry.sha256))) throw bad(`input "${name}": sha256 is not 64 hex digits`);
    const snapshot = snapshotProblem(entry.snapshot);
    if (snapshot) throw bad(`input "${name}": snapshot: ${snapshot}`);
  }
  for (const [name, entry] of Object.entries(data.images)) {
    const debian = isObj(entry) && isObj(entry.debian) ? entry.debian : undefined;
    const debianOk = debian !== undefined && Array.isArray(debian.packages) && debian.packages.every((p) => typeof p === 'string') && typeof debian.arch === 'string';
    if ((!strings(entry) && !debianOk) || Object.keys(entry as object).length !== 1) throw bad(`image "${name}" is not { oci | rootfs | step | debian }`);
  }
  if (data.debian !== undefined) {
    if (!isObj(data.debian)) throw bad('debian must be an object');
    for (const [name, pins] of Object.entries(data.debian)) {
      if (!Array.isArray(pins)) throw bad(`debian "${name}" is not a list of packages`);
      for (const pin of pins as unknown[]) {
        const ok = isObj(pin) && ['package', 'version', 'arch', 'integrity'].every((k) => typeof pin[k] === 'string' && pin[k] !== '') && typeof pin.size === 'number' && typeof pin.required === 'boolean';
        if (!ok) throw bad(`debian "${name}": a package needs package, version, arch, integrity, size and required`);
        const snapshot = snapshotProblem(pin.snapshot);
        if (snapshot) throw bad(`debian "${name}": ${String(pin.package)}: snapshot: ${snapshot}`);
      }
    }
  }
  return data as unknown as Lock;
}

/** The refusal of a lock over its size budget. */
export function lockTooLarge(file: string): LockError {
  return new LockError('KILN_LOCK_TOO_LARGE', `${file} is larger than ${MAX_LOCK_BYTES} bytes (budget ${BUDGET_NAMES.lock})`, {
    where: { file },
    budget: { name: BUDGET_NAMES.lock, limit: MAX_LOCK_BYTES },
  });
}

/** One line per difference between the recipe's sources and the lock's: what `--locked` reports. */
export function lockChanges(recipe: Pick<Recipe, 'inputs' | 'images'>, lock: Lock): string[] {
  const changes: string[] = [];
  const show = (s: object) => canonicalJSON(s);
  for (const spec of Object.values(recipe.inputs)) {
    const entry: LockedInput | undefined = Object.hasOwn(lock.inputs, spec.name) ? lock.inputs[spec.name] : undefined;
    const now = inputSource(spec);
    if (!entry) changes.push(`input "${spec.name}" is not in the lock`);
    else if (show(entry.source) !== show(now)) changes.push(`input "${spec.name}" changed: ${show(entry.source)} → ${show(now)}`);
  }
  for (const name of Object.keys(lock.inputs)) if (!Object.hasOwn(recipe.inputs, name)) changes.push(`input "${name}" was removed from the recipe`);
  for (const spec of Object.values(recipe.images)) {
    const entry = Object.hasOwn(lock.images, spec.name) ? lock.images[spec.name] : undefined;
    const now = imageSource(spec);
    if (!entry) changes.push(`image "${spec.name}" is not in the lock`);
    else if (show(entry) !== show(now)) changes.push(`image "${spec.name}" changed: ${show(entry)} → ${show(now)}`);
  }
  for (const name of Object.keys(lock.images)) if (!Object.hasOwn(recipe.images, name)) changes.push(`image "${name}" was removed from the recipe`);
  return changes;
}
