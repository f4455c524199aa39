import { RecipeError } from '../recipe/errors.js';
import { unpinnedReason } from '../recipe/check.js';
import type { InputSpec, Recipe } from '../recipe/types.js';
import { canonicalJSON } from '../util/canonical-json.js';
import { sha256Digest } from '../util/digest.js';
import { LockError } from './errors.js';
import { imageSource, inputSource, lockChanges, specsDigest } from './format.js';
import type { Lock } from './types.js';

export interface ApplyLockOptions {
  /** `kiln build --locked`: the lock must exist and match the recipe's inputs and images exactly. */
  locked?: boolean;
}

/**
 * The recipe with every input pinned: pins written in the recipe stand; the others come from
 * the lock entry recorded for the same source. Pure. `lock` is the parsed kiln.lock and its
 * text (undefined when there is none). Throws LockError (KILN_LOCK_MISSING, KILN_LOCK_STALE)
 * under `locked`, and RecipeError KILN_RECIPE_UNPINNED for an input that neither pins.
 */
export function applyLock(recipe: Recipe, lock: { file: string; text: string; lock: Lock } | undefined, options: ApplyLockOptions = {}): Recipe {
  if (options.locked) {
    if (!lock) {
      throw new LockError('KILN_LOCK_MISSING', `--locked: no lock beside ${recipe.file}`, {
        where: { file: recipe.file },
        hint: 'run `kiln lock` and commit kiln.lock with the recipe',
      });
    }
    if (lock.lock.recipe.specs !== specsDigest(recipe)) {
      const changes = lockChanges(recipe, lock.lock);
      throw new LockError('KILN_LOCK_STALE', `--locked: ${lock.file} is stale: the recipe's inputs changed since it was written\n  ${changes.join('\n  ')}`, {
        where: { file: lock.file },
        expected: lock.lock.recipe.specs,
        found: specsDigest(recipe),
        hint: 'run `kiln lock` to resolve the changed inputs (`kiln lock --update NAME` re-resolves one)',
      });
    }
  }
  const inputs: Record<string, InputSpec> = {};
  for (const spec of Object.values(recipe.inputs)) {
    const entry = lock && Object.hasOwn(lock.lock.inputs, spec.name) ? lock.lock.inputs[spec.name] : undefined;
    const matches = entry !== undefined && entry.kind === spec.kind && canonicalJSON(entry.source) === canonicalJSON(inputSource(spec));
    let pinned: InputSpec = spec;
    if (matches) {
      pinned = { ...spec, integrity: spec.integrity === '' ? entry.integrity : spec.integrity };
      if (pinned.kind === 'npm' && entry.version !== undefined) pinned = { ...pinned, version: entry.version, ...(entry.url !== undefined && { tarball: entry.url }) };
      if (pinned.kind === 'git' && pinned.commit === '' && entry.commit !== undefined) pinned = { ...pinned, commit: entry.commit };
      // Where else the same bytes may be found: they apply only to the integrity they were recorded with.
      if (pinned.integrity === entry.integrity) {
        if (entry.sha256 !== undefined) pinned = { ...pinned, sha256: entry.sha256 };
        if ((pinned.kind === 'deb' || pinned.kind === 'debsrc') && entry.snapshot !== undefined) pinned = { ...pinned, snapshot: { ...entry.snapshot } };
      }
    }
    const reason = unpinnedReason(pinned);
    if (reason !== undefined) {
      const stale = entry !== undefined && !matches;
      throw new RecipeError('KILN_RECIPE_UNPINNED', `input "${spec.name}" ${reason}${stale ? ` and ${lock!.file} was written for another source of it` : lock ? ` and ${lock.file} does not pin it` : ''}`, {
        where: spec.where,
        hint: 'run `kiln lock` to resolve it into kiln.lock beside the recipe; kiln builds only from pinned inputs',
      });
    }
    inputs[spec.name] = pinned;
  }
  const images: Recipe['images'] = { ...recipe.images };
  for (const spec of Object.values(recipe.images)) {
    if (spec.kind !== 'debian') continue;
    const written = lock && Object.hasOwn(lock.lock.images, spec.name) ? lock.lock.images[spec.name] : undefined;
    const pins = lock?.lock.debian && Object.hasOwn(lock.lock.debian, spec.name) ? lock.lock.debian[spec.name] : undefined;
    if (pins === undefined || canonicalJSON(written ?? null) !== canonicalJSON(imageSource(spec))) {
      throw new RecipeError('KILN_RECIPE_UNPINNED', `image "${spec.name}" has Debian packages that ${lock ? `${lock.file} does not resolve${pins !== undefined ? ' for this package list' : ''}` : 'are not resolved (no kiln.lock)'}`, {
        where: spec.where,
        hint: 'run `kiln lock` to resolve the packages into kiln.lock beside the recipe; kiln builds only from pinned inputs',
      });
    }
    images[spec.name] = { ...spec, pins: pins.map((p) => ({ ...p, ...(p.snapshot && { snapshot: { ...p.snapshot } }) })) };
  }
  const out: Recipe = { ...recipe, inputs, images };
  if (lock) out.lock = { file: lock.file, text: lock.text, digest: sha256Digest(lock.text) };
  return out;
}
