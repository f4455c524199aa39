import { computeActionKey, KILN_INPUTS_DIR, KILN_OUT_DIR, KILN_WORK_DIR, PLATFORM, actionLimits, parseUser, scratchMounts, stepScript, ACTION_KEY_FORMAT } from '../plan/index.js';
import type { ActionContext, ActionKeyMaterial, PlannedAction } from '../plan/index.js';
import { DEFAULT_SHELL } from '../recipe/index.js';
import type { DebianImageSpec } from '../recipe/index.js';
import type { Store } from '../store/index.js';
import { canonicalJSON } from '../util/canonical-json.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { DEBIAN_ASSEMBLY_EXCEPTION, DEBIAN_ASSEMBLY_SCRIPT, DEBIAN_PACKAGES_INPUT } from './assemble.js';
import { ImageError } from './errors.js';
import { fetchDebianPackages, type FetchedDeb } from './fetch.js';
import { basePackages, debianPackagesTree, debianStage1Layout, debRelationsOf, packageLists, unpackDebs } from './rootfs.js';

/** Ref namespaces: the base tree and the package folder of a pin set, found by the pins alone. */
const REF_BASE = 'debian-base';
const REF_PACKAGES = 'debian-packages';

export interface DebianStage1Options {
  signal?: AbortSignal;
  /** Called around the download of the .debs (not called when both trees are known). */
  onFetch?: (phase: 'start' | 'done', debs?: FetchedDeb[]) => void;
  /** Called with the base tree as soon as it is stored, while the rest of stage 1 runs. */
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
  const key = sha256Digest(canonicalJSON({ kiln: 'debian-stage1/v2', pins: spec.pins.map((p) => [p.package, p.version, p.arch, p.integrity, p.required]) }));
  const [knownBase, knownPackages] = await Promise.all([store.getRef(REF_BASE, key), store.getRef(REF_PACKAGES, key)]);
  if (knownBase && knownPackages) return { base: knownBase, packages: knownPackages };
  options.onFetch?.('start');
  const debs = await fetchDebianPackages(store, spec.pins, { ...(options.signal && { signal: options.signal }) });
  options.onFetch?.('done', debs);
  const label = `image "${spec.name}"`;
  const lists = packageLists(debs);
  const base = new Set(basePackages(debs, await debRelationsOf(store, debs, { label })));
  const parts = await unpackDebs(store, debs, {
    label,
    full: base,
    // The base is ready before the other packages' shapes are read: the engine may take it in meanwhile.
    onFull: async (baseParts) => options.onBase?.(await store.putTree((await debianStage1Layout(store, baseParts, lists, base)).base)),
  });
  const layout = await debianStage1Layout(store, parts, lists, base);
  const baseTree = await store.putTree(layout.base);
  const packages = await debianPackagesTree(store, debs, layout);
  await store.setRef(REF_BASE, key, baseTree);
  await store.setRef(REF_PACKAGES, key, packages);
  return { base: baseTree, packages };
}

/**
 * Stage 2 as an action, pure: dpkg installs the packages into the base tree inside the sandbox as the
 * profile's `debian-assembly` exception allows (root, CAP_CHOWN only, no network). Its output,
 * not normalized (a root filesystem's .gz files are package content), is the image.
 */
export function planDebianAssembly(spec: DebianImageSpec, stage1: DebianStage1, context: ActionContext): PlannedAction {
  const { profile, digest } = context.profile;
  const exception = profile.exceptions && Object.hasOwn(profile.exceptions, DEBIAN_ASSEMBLY_EXCEPTION) ? profile.exceptions[DEBIAN_ASSEMBLY_EXCEPTION] : undefined;
  if (!exception) {
    throw new ImageError('KILN_IMAGE_NO_EXCEPTION', `image "${spec.name}": the sandbox profile grants no "${DEBIAN_ASSEMBLY_EXCEPTION}" exception, which assembling a debian image needs`, { where: spec.where });
  }
  const env = Object.fromEntries(
    Object.entries({ ...profile.env, SOURCE_DATE_EPOCH: String(context.sourceDateEpoch), KILN_OUT: KILN_OUT_DIR }).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  const argv = [...DEFAULT_SHELL, stepScript(profile, DEBIAN_ASSEMBLY_SCRIPT)];
  const image = { kind: 'tree' as const, tree: stage1.base };
  const inputs = { [DEBIAN_PACKAGES_INPUT]: { kind: 'tree' as const, tree: stage1.packages } };
  // The exception's user and capabilities are in the profile digest; the user is also here.
  const material: ActionKeyMaterial = {
    kiln: ACTION_KEY_FORMAT, image, argv, env, user: exception.user, inputs, needs: {},
    sourceDateEpoch: context.sourceDateEpoch, platform: PLATFORM, sandboxProfile: digest, normalize: false,
  };
  const name = `image:${spec.name}`;
  return {
    name,
    material,
    actionKey: computeActionKey(material),
    normalize: false,
    run: {
      label: name,
      image,
      argv,
      env,
      user: parseUser(exception.user)!,
      workdir: profile.workdir,
      hostname: profile.hostname,
      domainname: profile.domainname,
      mounts: [
        { path: `${KILN_INPUTS_DIR}/${DEBIAN_PACKAGES_INPUT}`, source: inputs[DEBIAN_PACKAGES_INPUT], writable: false, owner: 'root' },
        ...scratchMounts(KILN_WORK_DIR),
      ],
      outputPath: KILN_OUT_DIR,
      // Steps run in it next: the engine takes the image in while it reads the output back.
      outputImage: true,
      limits: actionLimits(context),
      privilege: { name: DEBIAN_ASSEMBLY_EXCEPTION, capabilities: [...exception.capAdd] },
      mtime: context.sourceDateEpoch,
    },
  };
}
