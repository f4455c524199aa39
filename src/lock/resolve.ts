import { resolve as resolvePath, isAbsolute } from 'node:path';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import { digestPath, fetchInput, ingestGitCommit, pinSha256, resolveDeb, resolveDebsrc, resolvedTime, resolveGitRef, resolveNpm, snapshotRefFromUri, treeIntegrity } from '../fetch/index.js';
import { fetchUrl } from '../fetch/url.js';
import { parseRecipe } from '../recipe/parse.js';
import { readRecipeText } from '../recipe/load.js';
import { unpinnedReason } from '../recipe/check.js';
import type { DebianImageSpec, DebianPackagePin, DebianSnapshotRef, InputSpec, Recipe } from '../recipe/types.js';
import { createStore, REF } from '../store/index.js';
import type { Store } from '../store/types.js';
import { canonicalJSON } from '../util/canonical-json.js';
import { digestHex } from '../util/digest.js';
import { sriFromDigest } from '../util/integrity.js';
import { LockError } from './errors.js';
import { imageSource, inputSource, lockToText, specsDigest } from './format.js';
import { lockFileFor, readLock } from './load.js';
import { LOCK_FORMAT, type Lock, type LockedInput } from './types.js';

export interface LockRecipeOptions {
  /** Re-resolve these inputs (true: all) even when the lock already pins their source. */
  update?: string[] | true;
  /** Where fetched content goes (url, path, git inputs are hashed through it); default the user's store. */
  store?: Store;
  signal?: AbortSignal;
  /** Called as each input is resolved (`reused`: the lock's entry still matched). */
  onInput?: (name: string, reused: boolean) => void;
  /** The resolution time recorded for Debian snapshot coordinates; default now. */
  now?: Date;
}

export interface LockResult {
  lockFile: string;
  lock: Lock;
  /** Inputs and images whose entry was added, changed or removed; empty when the lock was already current. */
  changed: string[];
}

/**
 * `kiln lock`: resolves every input of the recipe to exact versions, URLs and SRI digests and
 * writes kiln.lock beside it (atomically, only when something changed). An entry whose
 * recorded source still matches the recipe is kept unless `update` names it. Besides fetch,
 * this is the only step that touches the network: npm, git and apt are asked through the
 * user's own clients; url, path and git content is hashed into the store (so the next build
 * finds it there by integrity).
 */
export async function lockRecipe(recipeFile: string, options: LockRecipeOptions = {}): Promise<LockResult> {
  const { file, text } = await readRecipeText(recipeFile);
  const recipe = parseRecipe(text, file, { allowUnpinned: true });
  const lockFile = lockFileFor(recipe.file);
  const previous = await readLock(lockFile).catch((err: unknown) => {
    // A corrupt lock is simply rewritten when everything is being re-resolved.
    if (options.update === true && err instanceof LockError && err.code === 'KILN_LOCK_INVALID') return undefined;
    throw err;
  });
  const debianImages = Object.values(recipe.images).filter((s): s is DebianImageSpec => s.kind === 'debian');
  const update = options.update === true ? new Set([...Object.keys(recipe.inputs), ...debianImages.map((s) => s.name)]) : new Set(options.update ?? []);
  for (const name of update) {
    if (!Object.hasOwn(recipe.inputs, name) && !debianImages.some((s) => s.name === name)) {
      throw new LockError('KILN_LOCK_UNKNOWN_INPUT', `--update ${name}: the recipe has no input "${name}"`, {
        where: { file: recipe.file },
        hint: `inputs: ${Object.keys(recipe.inputs).join(', ') || '(none)'}`,
      });
    }
  }
  let store = options.store;
  const getStore = async () => (store ??= await createStore());
  const resolved = resolvedTime(options.now ?? new Date());

  const inputs: Record<string, LockedInput> = {};
  for (const spec of Object.values(recipe.inputs)) {
    const old = previous && Object.hasOwn(previous.lock.inputs, spec.name) ? previous.lock.inputs[spec.name] : undefined;
    const reuse = old !== undefined && !update.has(spec.name) && old.kind === spec.kind && canonicalJSON(old.source) === canonicalJSON(inputSource(spec));
    inputs[spec.name] = reuse ? old : keepResolvedTime(old, await resolveInput(spec, { recipe, getStore, resolved, ...(options.signal && { signal: options.signal }) }));
    options.onInput?.(spec.name, reuse);
  }
  // A debian image's closure is apt's answer on this host now: kept while the image is unchanged.
  const debian: Record<string, DebianPackagePin[]> = {};
  for (const spec of debianImages) {
    const old = previous?.lock.debian && Object.hasOwn(previous.lock.debian, spec.name) ? previous.lock.debian[spec.name] : undefined;
    const before = previous && Object.hasOwn(previous.lock.images, spec.name) ? previous.lock.images[spec.name] : undefined;
    const reuse = old !== undefined && !update.has(spec.name) && canonicalJSON(before ?? null) === canonicalJSON(imageSource(spec));
    debian[spec.name] = reuse ? old : keepResolvedTimes(old, await (await import('../image/apt.js')).resolveDebianPackages(spec.packages, spec.arch, { resolved, ...(options.signal && { signal: options.signal }) }));
    options.onInput?.(spec.name, reuse);
  }
  const lock: Lock = {
    kiln: LOCK_FORMAT,
    recipe: { specs: specsDigest(recipe) },
    inputs,
    images: Object.fromEntries(Object.values(recipe.images).map((s) => [s.name, imageSource(s)])),
    ...(debianImages.length > 0 && { debian }),
  };
  const changed = diffLocks(previous?.lock, lock);
  const next = lockToText(lock);
  if (next !== previous?.text) await writeAtomic(lockFile, next);
  return { lockFile, lock, changed };
}

/** Names of inputs (`input:x`) and images (`image:x`) whose entry differs between two locks. */
function diffLocks(before: Lock | undefined, after: Lock): string[] {
  const out: string[] = [];
  const compare = (kind: 'input' | 'image' | 'debian', a: Record<string, unknown>, b: Record<string, unknown>) => {
    for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (canonicalJSON(a[name] ?? null) !== canonicalJSON(b[name] ?? null)) out.push(`${kind}:${name}`);
    }
  };
  compare('input', before?.inputs ?? {}, after.inputs);
  compare('image', before?.images ?? {}, after.images);
  compare('debian', before?.debian ?? {}, after.debian ?? {});
  return out.sort();
}

async function writeAtomic(file: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(file, text);
  } catch (err) {
    throw new LockError('KILN_LOCK_IO', `cannot write ${file}: ${(err as Error).message}`, { where: { file }, cause: err });
  }
}

function sriOfDigest(digest: `sha256:${string}`): string {
  return sriFromDigest(digest);
}

/**
 * The same file pinned again keeps the time it was first resolved at: the lock does not churn,
 * and the earlier time was also one when the archive held it.
 */
function sameFile(a: DebianSnapshotRef | undefined, b: DebianSnapshotRef | undefined): boolean {
  return a !== undefined && b !== undefined && a.archive === b.archive && a.path === b.path;
}

function keepResolvedTime(old: LockedInput | undefined, next: LockedInput): LockedInput {
  if (old?.integrity !== next.integrity || !sameFile(old.snapshot, next.snapshot)) return next;
  return { ...next, snapshot: { ...next.snapshot!, resolved: old.snapshot!.resolved } };
}

function keepResolvedTimes(old: DebianPackagePin[] | undefined, next: DebianPackagePin[]): DebianPackagePin[] {
  const before = new Map((old ?? []).map((p) => [`${p.package}:${p.arch}=${p.version} ${p.integrity}`, p]));
  return next.map((p) => {
    const was = before.get(`${p.package}:${p.arch}=${p.version} ${p.integrity}`);
    return was && sameFile(was.snapshot, p.snapshot) ? { ...p, snapshot: { ...p.snapshot!, resolved: was.snapshot!.resolved } } : p;
  });
}

interface ResolveContext {
  recipe: Recipe;
  getStore: () => Promise<Store>;
  /** The lock's resolution time (ISO), for snapshot coordinates. */
  resolved: string;
  signal?: AbortSignal;
}

/**
 * The sha256 that mirrors know the bytes by, when the pin names none (npm's sha512): the bytes
 * are fetched once into the store (the next build finds them there) and hashed.
 */
async function mirrorKey(spec: InputSpec, ctx: ResolveContext): Promise<{ sha256?: string }> {
  if (pinSha256({ integrity: spec.integrity }) !== undefined) return {};
  const fetched = await fetchInput(await ctx.getStore(), spec, { recipeDir: ctx.recipe.dir, ...(ctx.signal && { signal: ctx.signal }) });
  return { sha256: digestHex(fetched.digest) };
}

/** Snapshot coordinates of the file apt named, when it lies in a pool. */
function snapshotOf(url: string, resolved: string): { snapshot?: DebianSnapshotRef } {
  const snapshot = snapshotRefFromUri(url, resolved);
  return snapshot ? { snapshot } : {};
}

/**
 * One input resolved. A pin written in the recipe is recorded as it is: the lock never
 * second-guesses it (it only adds where else the same bytes may be found).
 */
async function resolveInput(spec: InputSpec, ctx: ResolveContext): Promise<LockedInput> {
  const { recipe, getStore, signal } = ctx;
  const source = inputSource(spec);
  const written = spec.integrity !== '' && unpinnedReason(spec) === undefined;
  switch (spec.kind) {
    case 'path': {
      if (written) return { kind: 'path', source, integrity: spec.integrity };
      const abs = isAbsolute(spec.path) ? spec.path : resolvePath(recipe.dir, spec.path);
      const pinned = await digestPath(await getStore(), abs);
      return { kind: 'path', source, integrity: pinned.integrity };
    }
    case 'url': {
      if (written) return { kind: 'url', source, integrity: spec.integrity, ...(await mirrorKey(spec, ctx)) };
      const store = await getStore();
      // No expected integrity: this download is what decides it.
      const fetched = await fetchUrl(store, { ...spec, integrity: undefined as unknown as string }, { recipeDir: recipe.dir, ...(signal && { signal }) });
      const integrity = sriOfDigest(fetched.digest);
      await store.setRef(REF.integrity, integrity, fetched.digest);
      return { kind: 'url', source, integrity, url: spec.url };
    }
    case 'deb': {
      if (written) {
        // A written pin gets snapshot coordinates only while apt still serves those very bytes.
        const apt = await resolveDeb(spec, { ...(signal && { signal }) }).catch(() => undefined);
        const same = apt !== undefined && pinSha256({ integrity: apt.integrity }) === pinSha256(spec);
        return { kind: 'deb', source, integrity: spec.integrity, ...(same && snapshotOf(apt.url, ctx.resolved)) };
      }
      const resolved = await resolveDeb(spec, { ...(signal && { signal }) });
      // No URL recorded: apt fetches by name and version, and a lock must not name an archive's
      // host; the snapshot coordinates are the archive's name and the pool path only.
      return { kind: 'deb', source, integrity: resolved.integrity, ...snapshotOf(resolved.url, ctx.resolved) };
    }
    case 'npm': {
      if (written) return { kind: 'npm', source, integrity: spec.integrity, version: spec.version, ...(await mirrorKey(spec, ctx)) };
      const resolved = await resolveNpm(spec, { cwd: recipe.dir, ...(signal && { signal }) });
      const integrity = spec.integrity || resolved.integrity;
      // No tarball URL recorded: npm fetches through the user's own registry settings.
      return { kind: 'npm', source, integrity, version: resolved.version, ...(await mirrorKey({ ...spec, version: resolved.version, integrity }, ctx)) };
    }
    case 'git': {
      const commit = spec.commit !== '' ? spec.commit : await resolveGitRef(spec, { cwd: recipe.dir, ...(signal && { signal }) });
      if (spec.integrity !== '') return { kind: 'git', source, integrity: spec.integrity, commit };
      const store = await getStore();
      const tree = await ingestGitCommit(store, { ...spec, commit }, { ...(signal && { signal }) });
      const integrity = treeIntegrity(tree.manifestBytes);
      await store.setRef(REF.integrity, integrity, tree.digest);
      return { kind: 'git', source, integrity, commit };
    }
    case 'debsrc': {
      if (written) return { kind: 'debsrc', source, integrity: spec.integrity, ...(spec.dsc !== undefined && { url: spec.dsc }) };
      const resolved = await resolveDebsrc(spec, { ...(signal && { signal }) });
      // Through apt, the .dsc lies in a pool: the snapshot archive keeps it with its files beside it.
      return { kind: 'debsrc', source, integrity: resolved.integrity, files: resolved.files, ...(spec.dsc === undefined && snapshotOf(resolved.dsc, ctx.resolved)) };
    }
  }
}
