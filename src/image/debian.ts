import { KILN_OUT_DIR, KILN_WORK_DIR, planImplicitAction, scratchMounts, stepScript } from '../plan/index.js';
import type { ActionContext, PlannedAction } from '../plan/index.js';
import { DEFAULT_SHELL } from '../recipe/index.js';
import type { DebianImageSpec } from '../recipe/index.js';
import type { Sources } from '../fetch/index.js';
import { REF, type Store } from '../store/index.js';
import { canonicalJSON } from '../util/canonical-json.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { DEBIAN_ASSEMBLY_EXCEPTION, DEBIAN_ASSEMBLY_SCRIPT } from './assemble.js';
import { ImageError } from './errors.js';
import { fetchDebianPackages, type FetchedDeb } from './fetch.js';
import { debianStage1Tree } from './rootfs.js';


export interface DebianStage1Options {
  signal?: AbortSignal;
  /** Mirrors and the Debian snapshot service, besides apt. */
  sources?: Sources;
  /** Called around the download of the .debs (not called when the stage-1 tree is known). */
  onFetch?: (phase: 'start' | 'done', debs?: FetchedDeb[]) => void;
}

/**
 * Stage 1 of a `debian` image: the merged data trees of its pinned .debs, a pure function of
 * the pins, so found by them: a known pin set fetches and unpacks nothing.
 */
export async function debianStage1(store: Store, spec: DebianImageSpec, options: DebianStage1Options = {}): Promise<Digest> {
  const key = sha256Digest(canonicalJSON({ kiln: 'debian-stage1/v1', pins: spec.pins.map((p) => [p.package, p.version, p.arch, p.integrity, p.required]) }));
  const known = await store.getRef(REF.debianStage1, key);
  if (known && (await store.has(known))) return known;
  options.onFetch?.('start');
  const debs = await fetchDebianPackages(store, spec.pins, {
    image: spec.name,
    ...(options.signal && { signal: options.signal }),
    ...(options.sources && { sources: options.sources }),
  });
  options.onFetch?.('done', debs);
  const tree = await debianStage1Tree(store, debs, { label: `image "${spec.name}"` });
  await store.setRef(REF.debianStage1, key, tree);
  return tree;
}

/**
 * Stage 2 as an action, pure: dpkg configures the stage-1 tree inside the sandbox as the
 * profile's `debian-assembly` exception allows (root, CAP_CHOWN only, no network). Its output,
 * not normalized (a root filesystem's .gz files are package content), is the image.
 */
export function planDebianAssembly(spec: DebianImageSpec, stage1: Digest, context: ActionContext): PlannedAction {
  const { profile } = context.profile;
  const exception = profile.exceptions && Object.hasOwn(profile.exceptions, DEBIAN_ASSEMBLY_EXCEPTION) ? profile.exceptions[DEBIAN_ASSEMBLY_EXCEPTION] : undefined;
  if (!exception) {
    throw new ImageError('KILN_IMAGE_NO_EXCEPTION', `image "${spec.name}": the sandbox profile grants no "${DEBIAN_ASSEMBLY_EXCEPTION}" exception, which assembling a debian image needs`, { where: spec.where });
  }
  // The exception's user and capabilities are in the profile digest; the user is also in the key.
  return planImplicitAction({
    name: `image:${spec.name}`,
    image: { kind: 'tree', tree: stage1 },
    argv: [...DEFAULT_SHELL, stepScript(profile, DEBIAN_ASSEMBLY_SCRIPT)],
    env: { SOURCE_DATE_EPOCH: String(context.sourceDateEpoch), KILN_OUT: KILN_OUT_DIR },
    user: exception.user,
    mounts: scratchMounts(KILN_WORK_DIR),
    privilege: { name: DEBIAN_ASSEMBLY_EXCEPTION, capabilities: [...exception.capabilities] },
  }, context);
}
