import { KILN_INPUTS_DIR, KILN_OUT_DIR, KILN_WORK_DIR, planImplicitAction, scratchMounts, stepScript } from '../plan/index.js';
import type { ActionContext, PlannedAction } from '../plan/index.js';
import { DEFAULT_SHELL } from '../recipe/index.js';
import type { DebianImageSpec } from '../recipe/index.js';
import type { Sources } from '../fetch/index.js';
import { REF, type Store } from '../store/index.js';
import { canonicalJSON } from '../util/canonical-json.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { DEBIAN_ASSEMBLY_EXCEPTION, DEBIAN_ASSEMBLY_SCRIPT, DEBIAN_PACKAGES_INPUT } from './assemble.js';
import { ImageError } from './errors.js';
import { fetchDebianPackages, type FetchedDeb } from './fetch.js';
import { basePackages, debianBaseTree, debianPackagesTree, debRelationsOf, packageLists, unpackDebs } from './rootfs.js';


export interface DebianStage1Options {
  signal?: AbortSignal;
  /** Mirrors and the Debian snapshot service, besides apt. */
  sources?: Sources;
  /** Called around the download of the .debs (not called when both trees are known). */
  onFetch?: (phase: 'start' | 'done', debs?: FetchedDeb[]) => void;
  /** Called with the base tree as soon as it is stored (not called when both trees are known): the engine may take it in. */
  onBase?: (base: Digest) => void;
}

/** What the assembly step starts from: the image it runs in and the folder it installs from. */
export interface DebianStage1 {
  /** The merged data of the required packages and their dependencies, an empty dpkg database (`debianBaseTree`). */
  base: Digest;
  /** Every .deb and the package lists (`debianPackagesTree`), mounted as the `debs` input. */
  packages: Digest;
}

/**
 * Stage 1 of a `debian` image: the base tree and the package folder, pure functions of the pins,
 * so found by them: a known pin set fetches and unpacks nothing. Every package's data tree is
 * unpacked once per .deb (ref `deb-data`), so a second image that differs by one package
 * unpacks only that one; images with the same base packages share one base tree.
 */
export async function debianStage1(store: Store, spec: DebianImageSpec, options: DebianStage1Options = {}): Promise<DebianStage1> {
  const key = sha256Digest(canonicalJSON({ kiln: 'debian-stage1/v3', pins: spec.pins.map((p) => [p.package, p.version, p.arch, p.integrity, p.required]) }));
  const [base, packages] = await Promise.all([store.getRef(REF.debianBase, key), store.getRef(REF.debianPackages, key)]);
  if (base && packages && (await store.has(base)) && (await store.has(packages))) return { base, packages };
  options.onFetch?.('start');
  const debs = await fetchDebianPackages(store, spec.pins, {
    image: spec.name,
    ...(options.signal && { signal: options.signal }),
    ...(options.sources && { sources: options.sources }),
  });
  options.onFetch?.('done', debs);
  const label = `image "${spec.name}"`;
  const lists = packageLists(debs);
  const inBase = new Set(basePackages(debs, await debRelationsOf(store, debs, { label })));
  const parts = await unpackDebs(store, debs.filter((d) => inBase.has(d.pin.package)), { label, ...(options.signal && { signal: options.signal }) });
  const baseTree = await store.putTree(await debianBaseTree(store, parts, lists));
  options.onBase?.(baseTree);
  const packagesTree = await debianPackagesTree(store, debs);
  await store.setRef(REF.debianBase, key, baseTree);
  await store.setRef(REF.debianPackages, key, packagesTree);
  return { base: baseTree, packages: packagesTree };
}

/**
 * Stage 2 as an action, pure: dpkg installs the packages into the base tree inside the sandbox
 * as the profile's `debian-assembly` exception allows (root with CAP_CHOWN, CAP_DAC_OVERRIDE and
 * CAP_FOWNER, no network). Its output, not normalized (a root filesystem's .gz files are
 * package content), is the image.
 */
export function planDebianAssembly(spec: DebianImageSpec, stage1: DebianStage1, context: ActionContext): PlannedAction {
  const { profile } = context.profile;
  const exception = profile.exceptions && Object.hasOwn(profile.exceptions, DEBIAN_ASSEMBLY_EXCEPTION) ? profile.exceptions[DEBIAN_ASSEMBLY_EXCEPTION] : undefined;
  if (!exception) {
    throw new ImageError('KILN_IMAGE_NO_EXCEPTION', `image "${spec.name}": the sandbox profile grants no "${DEBIAN_ASSEMBLY_EXCEPTION}" exception, which assembling a debian image needs`, { where: spec.where });
  }
  const packages = { kind: 'tree' as const, tree: stage1.packages };
  // The exception's user and capabilities are in the profile digest; the user is also in the key.
  return planImplicitAction({
    name: `image:${spec.name}`,
    image: { kind: 'tree', tree: stage1.base },
    argv: [...DEFAULT_SHELL, stepScript(profile, DEBIAN_ASSEMBLY_SCRIPT)],
    env: { SOURCE_DATE_EPOCH: String(context.sourceDateEpoch), KILN_OUT: KILN_OUT_DIR },
    user: exception.user,
    inputs: { [DEBIAN_PACKAGES_INPUT]: packages },
    mounts: [
      { path: `${KILN_INPUTS_DIR}/${DEBIAN_PACKAGES_INPUT}`, source: packages, writable: false, owner: 'root' },
      ...scratchMounts(KILN_WORK_DIR),
    ],
    privilege: { name: DEBIAN_ASSEMBLY_EXCEPTION, capabilities: [...exception.capabilities] },
    // Steps run in it next: the engine takes the image in while it reads the output back.
    outputImage: true,
  }, context);
}
