import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { hexDigestsOfSri } from '../util/integrity.js';
import type { BuildSummary } from '../builder/summary.js';
import { debPurl } from '../fetch/deb.js';
import type { Recipe } from '../recipe/types.js';
import type { ActionOrigin } from '../store/types.js';
import { isDigest, type Digest } from '../util/digest.js';
import { AttestError } from './errors.js';
import { assertDigestSet, makeStatement } from './statement.js';
import { PREDICATE_SLSA_PROVENANCE_V1, type DigestSet, type ResourceDescriptor, type Statement } from './types.js';
import { showValue } from '../util/show-value.js';

/**
 * SLSA Provenance v1 for a kiln build, with kiln's buildType (docs/buildtypes/recipe-v1.md).
 * Pure: the summary and recipe go in, a Statement comes out; the clock and ids come through
 * the summary and the options.
 */

/** An identifier, in the example.org namespace until kiln has a home; documented in docs/buildtypes/recipe-v1.md. */
export const BUILD_TYPE_KILN_RECIPE_V1 = 'https://kiln.example.org/buildtypes/recipe/v1';
/** A kiln run on a user's machine with a user's key: SLSA Build L1 (specs.md §3.4). */
export const DEFAULT_BUILDER_ID = 'https://kiln.example.org/builders/local/v1';

/** The SLSA Provenance v1 predicate (slsa spec/schema/provenance.cue), generic over parameters. */
export interface SlsaProvenanceV1<E = Record<string, unknown>, I = Record<string, unknown>> {
  buildDefinition: {
    buildType: string;
    externalParameters: E;
    internalParameters?: I;
    resolvedDependencies?: ResourceDescriptor[];
  };
  runDetails: {
    builder: { id: string; version?: Record<string, string>; builderDependencies?: ResourceDescriptor[] };
    metadata?: { invocationId?: string; startedOn?: string; finishedOn?: string };
    byproducts?: ResourceDescriptor[];
  };
}

/** kiln's externalParameters: the recipe itself (a rebuilder needs nothing else) plus overrides. */
export interface KilnExternalParameters {
  recipe: {
    path: string;
    digest: { sha256: string };
    content: string;
    /** The kiln.lock whose pins filled the recipe's unpinned inputs, when there was one. */
    lock?: { path: string; digest: { sha256: string }; content: string };
  };
  [override: string]: unknown;
}

export interface KilnInternalParameters {
  kilnVersion: string;
  /** Digest of the sandbox profile the steps ran under (it enters every action key). */
  sandboxProfile: Digest;
  /** `docker <version>`; null when every step came from the cache. */
  engine: string | null;
  platform: string;
  sourceDateEpoch: number;
}

export type KilnProvenancePredicate = SlsaProvenanceV1<KilnExternalParameters, KilnInternalParameters>;

export interface ProvenanceOptions {
  builderId?: string;
  kilnVersion: string;
  invocationId: string;
  /** Overrides the summary's engine (e.g. when the summary predates the engine query). */
  engineVersion?: string | null;
  /** Parameters given besides the recipe that changed the build; must not be named `recipe`. */
  overrides?: Record<string, unknown>;
}

/** Names of resolvedDependencies and byproducts entries: `input:<name>`, `image:<name>`, `step:<name>`. */
const INPUT_PREFIX = 'input:';
const IMAGE_PREFIX = 'image:';
const STEP_PREFIX = 'step:';
/** A Debian package a `debian` image was assembled from: `deb:<image>/<package>`. */
const DEB_PREFIX = 'deb:';

export function buildProvenance(summary: BuildSummary, recipe: Recipe, options: ProvenanceOptions): Statement<KilnProvenancePredicate> {
  if (summary.recipe.digest !== recipe.digest) {
    throw new AttestError('KILN_ATTEST_RECIPE_MISMATCH', 'the build summary is of another recipe than the one given', {
      expected: recipe.digest,
      found: summary.recipe.digest,
    });
  }
  const overrides = options.overrides ?? {};
  if ('recipe' in overrides) throw new AttestError('KILN_ATTEST_BAD_PROVENANCE', 'an override cannot be named "recipe"');

  const externalParameters: KilnExternalParameters = {
    ...overrides,
    recipe: {
      path: basename(recipe.file),
      digest: { sha256: hexOf(recipe.digest, 'recipe digest') },
      content: recipe.text,
      ...(recipe.lock && { lock: { path: basename(recipe.lock.file), digest: { sha256: hexOf(recipe.lock.digest, 'lock digest') }, content: recipe.lock.text } }),
    },
  };
  const internalParameters: KilnInternalParameters = {
    kilnVersion: options.kilnVersion,
    sandboxProfile: summary.sandboxProfile,
    engine: options.engineVersion !== undefined ? options.engineVersion : summary.engine,
    platform: summary.platform,
    sourceDateEpoch: summary.sourceDateEpoch,
  };

  const predicate: KilnProvenancePredicate = {
    buildDefinition: {
      buildType: BUILD_TYPE_KILN_RECIPE_V1,
      externalParameters,
      internalParameters,
      resolvedDependencies: [...inputDependencies(summary), ...imageDependencies(summary, recipe)],
    },
    runDetails: {
      builder: { id: options.builderId ?? DEFAULT_BUILDER_ID, version: { kiln: options.kilnVersion } },
      metadata: { invocationId: options.invocationId, startedOn: summary.timings.startedOn, finishedOn: summary.timings.finishedOn },
      byproducts: stepByproducts(summary, recipe),
    },
  };
  const subject = summary.artifacts.map((a) => ({ name: a.name, digest: { sha256: a.digests.sha256, sha512: a.digests.sha512 } }));
  return makeStatement(subject, PREDICATE_SLSA_PROVENANCE_V1, predicate);
}

function inputDependencies(summary: BuildSummary): ResourceDescriptor[] {
  return Object.entries(summary.inputs).map(([name, input]) => ({
    uri: input.uri,
    name: `${INPUT_PREFIX}${name}`,
    digest: { sha256: hexOf(input.digest, `input ${name} digest`), ...sriExtraDigests(input.integrity), ...gitCommitDigest(input.kind, input.uri) },
    annotations: { kind: input.kind, integrity: input.integrity },
  }));
}

/** A git input's commit as the `gitCommit` digest (SLSA's convention for `git+<url>@<commit>` uris). */
function gitCommitDigest(kind: string, uri: string): DigestSet {
  const m = kind === 'git' ? /@([0-9a-f]{40}(?:[0-9a-f]{24})?)$/.exec(uri) : null;
  return m ? { gitCommit: m[1]! } : {};
}

/**
 * The SRI's own hashes besides sha256, as hex (e.g. sha512 for npm, whose registry publishes
 * only that): a consumer holding the upstream's digest can match it directly.
 */
export function sriExtraDigests(integrity: string): DigestSet {
  const { sha256: _, ...extra } = hexDigestsOfSri(integrity);
  return extra;
}

function imageDependencies(summary: BuildSummary, recipe: Recipe): ResourceDescriptor[] {
  return Object.entries(summary.images).flatMap(([name, image]): ResourceDescriptor | ResourceDescriptor[] => {
    const spec = recipe.images[name];
    if (!spec) throw new AttestError('KILN_ATTEST_RECIPE_MISMATCH', `the build summary has an image "${name}" the recipe does not define`);
    switch (spec.kind) {
      case 'rootfs':
      case 'step':
        if (!image.tree) throw new AttestError('KILN_ATTEST_BAD_PROVENANCE', `image ${name} has no tree digest in the build summary`);
        return {
          name: `${IMAGE_PREFIX}${name}`,
          digest: { sha256: hexOf(image.tree, `image ${name} tree`) },
          annotations: { kind: spec.kind, from: spec.kind === 'rootfs' ? spec.input : spec.step },
        };
      case 'oci': {
        const ref = image.ref ?? spec.ref;
        return { uri: ociUri(ref), name: `${IMAGE_PREFIX}${name}`, digest: { sha256: ociDigestHex(ref) }, annotations: { kind: 'oci', ref } };
      }
      case 'debian': {
        if (!image.tree) throw new AttestError('KILN_ATTEST_BAD_PROVENANCE', `image ${name} has no tree digest in the build summary`);
        // The configured rootfs, then every package it was assembled from, pinned as the lock
        // pinned it: a rebuilder fetches exactly these .debs (purl + sha256 of the .deb).
        return [
          {
            name: `${IMAGE_PREFIX}${name}`,
            digest: { sha256: hexOf(image.tree, `image ${name} tree`) },
            annotations: { kind: 'debian', from: spec.packages.join(' '), arch: spec.arch },
          },
          ...spec.pins.map((pin): ResourceDescriptor => ({
            uri: debPurl(pin.package, pin.version, pin.arch),
            name: `${DEB_PREFIX}${name}/${pin.package}`,
            digest: sriDigestSet(pin.integrity),
            annotations: { image: name, integrity: pin.integrity, ...(pin.required && { required: true }) },
          })),
        ];
      }
    }
  });
}

/** Every hash of an SRI as hex, by algorithm (a lock's .deb pins are sha256). */
function sriDigestSet(integrity: string): DigestSet {
  return { ...hexDigestsOfSri(integrity) };
}

/** `oci://<registry>/<repository>@sha256:<hex>`: the reference as pulled, under a scheme (docs/buildtypes/recipe-v1.md). */
export function ociUri(ref: string): string {
  return `oci://${ref}`;
}

function ociDigestHex(ref: string): string {
  const m = /@sha256:([0-9a-f]{64})$/.exec(ref);
  if (!m) throw new AttestError('KILN_ATTEST_BAD_PROVENANCE', `image reference ${ref} is not pinned by a sha256 digest`);
  return m[1]!;
}

/** One byproduct per step, in the recipe's order, so a rebuilder can compare step by step. */
function stepByproducts(summary: BuildSummary, recipe: Recipe): ResourceDescriptor[] {
  const order = Object.keys(recipe.steps);
  for (const name of Object.keys(summary.steps)) {
    if (!order.includes(name)) throw new AttestError('KILN_ATTEST_RECIPE_MISMATCH', `the build summary has a step "${name}" the recipe does not define`);
  }
  return order
    .filter((name) => summary.steps[name] !== undefined)
    .map((name) => {
      const step = summary.steps[name]!;
      return {
        name: `${STEP_PREFIX}${name}`,
        digest: { sha256: hexOf(step.outputTree, `step ${name} output tree`) },
        annotations: { actionKey: step.actionKey, log: step.log, image: step.image, cached: step.cached, ...(step.origin && { remoteCache: remoteCacheAnnotation(step.origin) }), ...(step.executor && { executor: { ...step.executor } }) },
      };
    });
}

/** A step served from a shared cache: where from, and the signature (or the trust in the server) that admitted it. */
function remoteCacheAnnotation(origin: ActionOrigin): Record<string, string> {
  return { endpoint: origin.endpoint, instance: origin.instance, admittedBy: origin.admittedBy, ...(origin.keyid !== undefined && { keyid: origin.keyid }) };
}

function hexOf(digest: string, what: string): string {
  if (!isDigest(digest)) throw new AttestError('KILN_ATTEST_BAD_PROVENANCE', `${what} is not a sha256 digest`, { expected: 'sha256:<64 hex>', found: showValue(digest) });
  return digest.slice('sha256:'.length);
}

// ---------------------------------------------------------------------------------------------
// Reading it back

export interface ResolvedInput {
  name: string;
  uri: string;
  /** sha256 always; sha384/sha512 when the recipe's SRI had them. */
  digest: DigestSet;
  kind: string;
  integrity: string;
}

export interface ResolvedImage {
  name: string;
  kind: 'rootfs' | 'step' | 'oci' | 'debian';
  /** The tree digest (rootfs, step, debian) or the registry digest (oci). */
  digest: Digest;
  /** The input (rootfs) or step (step) it came from. */
  from?: string;
  /** The registry reference (oci). */
  ref?: string;
}

export interface StepRecord {
  name: string;
  outputTree: Digest;
  actionKey: Digest;
  log: Digest;
  image?: string;
  cached: boolean;
  /** Who ran the step, as its engine recorded it (a farm: endpoint, instance, worker, Action digest, timings). */
  executor?: Record<string, unknown>;
  /** When the step came from a shared cache: the endpoint and what admitted it. */
  remoteCache?: { endpoint: string; instance: string; admittedBy: string; keyid?: string };
}

/** Typed access to a kiln provenance statement, for rebuild and inspect. */
export interface KilnProvenance {
  statement: Statement<KilnProvenancePredicate>;
  subjects: Statement['subject'];
  builderId: string;
  recipe: { path: string; digest: Digest; content: string; lock?: { path: string; digest: Digest; content: string } };
  /** externalParameters other than `recipe`. */
  overrides: Record<string, unknown>;
  internal: Partial<KilnInternalParameters>;
  inputs: ResolvedInput[];
  images: ResolvedImage[];
  /** In the order the provenance lists them (the recipe's order). */
  steps: StepRecord[];
  metadata: { invocationId?: string; startedOn?: string; finishedOn?: string };
}

/**
 * Validates that a statement is SLSA Provenance v1 of kiln's buildType and returns its parts,
 * typed. The embedded recipe must hash to its recorded digest (KILN_ATTEST_RECIPE_MISMATCH):
 * a rebuild runs that text, so it must be the text the digest names. Entries of
 * resolvedDependencies and byproducts that are not kiln's (no `input:`/`image:`/`step:` name)
 * are ignored, as the spec asks consumers to do with what they do not recognize.
 */
export function provenanceFromStatement(statement: Statement): KilnProvenance {
  if (statement.predicateType !== PREDICATE_SLSA_PROVENANCE_V1) {
    throw new AttestError('KILN_ATTEST_BAD_PROVENANCE', `not SLSA provenance v1 (predicateType ${statement.predicateType})`, {
      expected: PREDICATE_SLSA_PROVENANCE_V1,
      found: statement.predicateType,
    });
  }
  const predicate = obj(statement.predicate, 'predicate');
  const definition = obj(predicate.buildDefinition, 'buildDefinition');
  if (definition.buildType !== BUILD_TYPE_KILN_RECIPE_V1) {
    throw new AttestError('KILN_ATTEST_BUILD_TYPE', `provenance of buildType ${showValue(definition.buildType)}, not kiln's`, {
      expected: BUILD_TYPE_KILN_RECIPE_V1,
      found: showValue(definition.buildType),
    });
  }
  const external = obj(definition.externalParameters, 'externalParameters');
  const recipeParam = obj(external.recipe, 'externalParameters.recipe');
  const path = str(recipeParam.path, 'externalParameters.recipe.path');
  const content = str(recipeParam.content, 'externalParameters.recipe.content');
  const recipeDigest = toDigestOrThrow(obj(recipeParam.digest, 'externalParameters.recipe.digest').sha256, 'externalParameters.recipe.digest.sha256');
  const actual = `sha256:${createHash('sha256').update(content, 'utf8').digest('hex')}`;
  if (actual !== recipeDigest) {
    throw new AttestError('KILN_ATTEST_RECIPE_MISMATCH', 'the recipe embedded in the provenance does not match its digest', { expected: recipeDigest, found: actual });
  }
  let lock: KilnProvenance['recipe']['lock'];
  if (recipeParam.lock !== undefined) {
    const lockParam = obj(recipeParam.lock, 'externalParameters.recipe.lock');
    const lockContent = str(lockParam.content, 'externalParameters.recipe.lock.content');
    const lockDigest = toDigestOrThrow(obj(lockParam.digest, 'externalParameters.recipe.lock.digest').sha256, 'externalParameters.recipe.lock.digest.sha256');
    const lockActual = `sha256:${createHash('sha256').update(lockContent, 'utf8').digest('hex')}`;
    if (lockActual !== lockDigest) {
      throw new AttestError('KILN_ATTEST_RECIPE_MISMATCH', 'the lock embedded in the provenance does not match its digest', { expected: lockDigest, found: lockActual });
    }
    lock = { path: str(lockParam.path, 'externalParameters.recipe.lock.path'), digest: lockDigest, content: lockContent };
  }
  const { recipe: _recipe, ...overrides } = external;

  const internalRaw = definition.internalParameters === undefined || definition.internalParameters === null ? {} : obj(definition.internalParameters, 'internalParameters');
  const internal: Partial<KilnInternalParameters> = {};
  if (typeof internalRaw.kilnVersion === 'string') internal.kilnVersion = internalRaw.kilnVersion;
  if (isDigest(internalRaw.sandboxProfile)) internal.sandboxProfile = internalRaw.sandboxProfile;
  if (typeof internalRaw.engine === 'string' || internalRaw.engine === null) internal.engine = internalRaw.engine;
  if (typeof internalRaw.platform === 'string') internal.platform = internalRaw.platform;
  if (typeof internalRaw.sourceDateEpoch === 'number') internal.sourceDateEpoch = internalRaw.sourceDateEpoch;

  const inputs: ResolvedInput[] = [];
  const images: ResolvedImage[] = [];
  for (const [i, entry] of arr(definition.resolvedDependencies, 'resolvedDependencies').entries()) {
    const where = `resolvedDependencies[${i}]`;
    const dep = obj(entry, where);
    if (typeof dep.name !== 'string') continue;
    const annotations = dep.annotations === undefined ? {} : obj(dep.annotations, `${where}.annotations`);
    if (dep.name.startsWith(INPUT_PREFIX)) {
      assertDigestSet(dep.digest, where);
      toDigestOrThrow(dep.digest.sha256, `${where}.digest.sha256`);
      inputs.push({
        name: dep.name.slice(INPUT_PREFIX.length),
        uri: str(dep.uri, `${where}.uri`),
        digest: dep.digest,
        kind: str(annotations.kind, `${where}.annotations.kind`),
        integrity: str(annotations.integrity, `${where}.annotations.integrity`),
      });
    } else if (dep.name.startsWith(IMAGE_PREFIX)) {
      const kind = annotations.kind;
      if (kind !== 'rootfs' && kind !== 'step' && kind !== 'oci' && kind !== 'debian') throw badShape(`${where}.annotations.kind is not rootfs, step, oci or debian`);
      const digest = toDigestOrThrow(obj(dep.digest, `${where}.digest`).sha256, `${where}.digest.sha256`);
      const image: ResolvedImage = { name: dep.name.slice(IMAGE_PREFIX.length), kind, digest };
      if (kind === 'oci') image.ref = str(annotations.ref, `${where}.annotations.ref`);
      else image.from = str(annotations.from, `${where}.annotations.from`);
      images.push(image);
    }
  }

  const runDetails = obj(predicate.runDetails, 'runDetails');
  const builder = obj(runDetails.builder, 'runDetails.builder');
  const steps: StepRecord[] = [];
  for (const [i, entry] of arr(runDetails.byproducts, 'runDetails.byproducts').entries()) {
    const where = `byproducts[${i}]`;
    const product = obj(entry, where);
    if (typeof product.name !== 'string' || !product.name.startsWith(STEP_PREFIX)) continue;
    const annotations = obj(product.annotations, `${where}.annotations`);
    const step: StepRecord = {
      name: product.name.slice(STEP_PREFIX.length),
      outputTree: toDigestOrThrow(obj(product.digest, `${where}.digest`).sha256, `${where}.digest.sha256`),
      actionKey: digestField(annotations.actionKey, `${where}.annotations.actionKey`),
      log: digestField(annotations.log, `${where}.annotations.log`),
      cached: annotations.cached === true,
    };
    if (typeof annotations.image === 'string') step.image = annotations.image;
    // Informative, never judged: read when it is an object, ignored otherwise.
    const executor = annotations.executor;
    if (typeof executor === 'object' && executor !== null && !Array.isArray(executor)) step.executor = executor as Record<string, unknown>;
    if (annotations.remoteCache !== undefined) step.remoteCache = remoteCacheOf(annotations.remoteCache, `${where}.annotations.remoteCache`);
    steps.push(step);
  }
  const metadataRaw = runDetails.metadata === undefined || runDetails.metadata === null ? {} : obj(runDetails.metadata, 'runDetails.metadata');
  const metadata: KilnProvenance['metadata'] = {};
  for (const key of ['invocationId', 'startedOn', 'finishedOn'] as const) {
    if (typeof metadataRaw[key] === 'string') metadata[key] = metadataRaw[key] as string;
  }

  return {
    statement: statement as Statement<KilnProvenancePredicate>,
    subjects: statement.subject,
    builderId: str(builder.id, 'runDetails.builder.id'),
    recipe: { path, digest: recipeDigest, content, ...(lock && { lock }) },
    overrides,
    internal,
    inputs,
    images,
    steps,
    metadata,
  };
}

function remoteCacheOf(value: unknown, where: string): NonNullable<StepRecord['remoteCache']> {
  const o = obj(value, where);
  const keyid = o.keyid === undefined ? undefined : str(o.keyid, `${where}.keyid`);
  return { endpoint: str(o.endpoint, `${where}.endpoint`), instance: str(o.instance, `${where}.instance`), admittedBy: str(o.admittedBy, `${where}.admittedBy`), ...(keyid !== undefined && { keyid }) };
}

function badShape(message: string): AttestError {
  return new AttestError('KILN_ATTEST_BAD_PROVENANCE', `provenance: ${message}`);
}

function obj(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badShape(`${what} is not an object`);
  return value as Record<string, unknown>;
}

function arr(value: unknown, what: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badShape(`${what} is not an array`);
  return value;
}

function str(value: unknown, what: string): string {
  if (typeof value !== 'string') throw badShape(`${what} is not a string`);
  return value;
}

function toDigestOrThrow(hex: unknown, what: string): Digest {
  if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) throw badShape(`${what} is not 64 lowercase hex characters`);
  return `sha256:${hex}`;
}

function digestField(value: unknown, what: string): Digest {
  if (!isDigest(value)) throw badShape(`${what} is not a sha256:<hex> digest`);
  return value;
}
