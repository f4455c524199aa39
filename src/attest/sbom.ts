import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as CDX from '@cyclonedx/cyclonedx-library';
import { hexDigestsOfSri } from '../util/integrity.js';
import type { BuildSummary } from '../builder/summary.js';
import type { Recipe } from '../recipe/types.js';
import { canonicalJSON } from '../util/canonical-json.js';
import { sriExtraDigests } from './provenance.js';

/**
 * A CycloneDX 1.6 JSON SBOM of a build: the recipe's product (metadata.component), its
 * artifacts, and everything that went in (inputs with hashes and purls, images), with the
 * dependency graph derived from the recipe: an artifact depends on exactly the inputs and
 * images its step reached, transitively. Built with @cyclonedx/cyclonedx-library's models and
 * JSON serializer. Pure and deterministic: the same build gives the same bytes, because the
 * serial number is derived from the recipe and artifact digests, the timestamp is the
 * recipe's SOURCE_DATE_EPOCH, every bom-ref is set by kiln (the library would otherwise invent
 * random ones) and lists are sorted.
 */

export const SBOM_SPEC_VERSION = '1.6';

export interface SbomOptions {
  /** Recorded as the tool that made the SBOM. */
  kilnVersion?: string;
}

/**
 * The library costs 100–250 ms to load; only a build that writes an SBOM should pay that, not
 * every `kiln verify` that imports this folder. It is CommonJS, so `require` loads it
 * synchronously and buildSbom stays a plain function.
 */
type Library = Pick<typeof CDX, 'Enums' | 'Models' | 'Serialize' | 'Spec'>;
let cdx: Library | undefined;
function library(): Library {
  // The parts used, not the package's index: that also loads its JSON/XML validators (ajv),
  // about as costly again, which a build never uses.
  if (!cdx) {
    const load = createRequire(import.meta.url);
    cdx = {
      Enums: load('@cyclonedx/cyclonedx-library/Enums') as typeof CDX.Enums,
      Models: load('@cyclonedx/cyclonedx-library/Models') as typeof CDX.Models,
      Serialize: load('@cyclonedx/cyclonedx-library/Serialize') as typeof CDX.Serialize,
      Spec: load('@cyclonedx/cyclonedx-library/Spec') as typeof CDX.Spec,
    };
  }
  return cdx;
}

export function buildSbom(summary: BuildSummary, recipe: Recipe, options: SbomOptions = {}): object {
  const { Enums, Models, Serialize, Spec } = library();
  const bom = new Models.Bom({ serialNumber: sbomSerialNumber(summary) });
  // SOURCE_DATE_EPOCH, not the wall clock: the SBOM of the same build is the same bytes.
  bom.metadata.timestamp = new Date(summary.sourceDateEpoch * 1000);
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Application, 'kiln', { bomRef: 'tool:kiln', ...(options.kilnVersion && { version: options.kilnVersion }) }),
  );
  const product = new Models.Component(Enums.ComponentType.Application, recipe.name, {
    bomRef: 'recipe',
    ...(recipe.version !== undefined && { version: recipe.version }),
  });
  product.hashes.set(Enums.HashAlgorithm['SHA-256'], hex(recipe.digest));
  product.properties.add(new Models.Property('kiln:recipe:digest', recipe.digest));
  bom.metadata.component = product;

  const components = new Map<string, CDX.Models.Component>();
  for (const [name, input] of Object.entries(summary.inputs)) {
    const c = inputComponent(name, input, recipe);
    components.set(c.bomRef.value!, c);
  }
  for (const [name, image] of Object.entries(summary.images)) {
    const c = new Models.Component(Enums.ComponentType.Container, name, { bomRef: `image:${name}` });
    const spec = recipe.images[name];
    if (image.tree) c.hashes.set(Enums.HashAlgorithm['SHA-256'], hex(image.tree));
    if (image.ref) {
      const m = /@sha256:([0-9a-f]{64})$/.exec(image.ref);
      if (m) c.hashes.set(Enums.HashAlgorithm['SHA-256'], m[1]!);
      c.purl = ociPurl(image.ref);
    }
    c.properties.add(new Models.Property('kiln:image:kind', spec?.kind ?? image.kind));
    if (spec?.kind === 'rootfs') c.properties.add(new Models.Property('kiln:image:from', `input:${spec.input}`));
    if (spec?.kind === 'step') c.properties.add(new Models.Property('kiln:image:from', `step:${spec.step}`));
    if (spec?.kind === 'debian') {
      // Every .deb the image was assembled from, with its purl and the sha256 the lock pinned.
      for (const pin of spec.pins) {
        const deb = new Models.Component(Enums.ComponentType.Library, pin.package, { bomRef: `deb:${name}/${pin.package}`, version: pin.version, purl: debPurl(pin.package, pin.version, pin.arch) });
        const sha256 = hexDigestsOfSri(pin.integrity).sha256;
        if (sha256) deb.hashes.set(Enums.HashAlgorithm['SHA-256'], sha256);
        components.set(deb.bomRef.value!, deb);
        c.dependencies.add(deb.bomRef);
      }
    }
    components.set(c.bomRef.value!, c);
  }
  const graph = dependencyGraph(recipe);
  for (const [ref, component] of components) {
    if (!ref.startsWith('image:')) continue;
    for (const dep of graph.image(ref.slice('image:'.length))) {
      const target = components.get(dep);
      if (target && target !== component) component.dependencies.add(target.bomRef);
    }
  }
  for (const artifact of summary.artifacts) {
    const c = new Models.Component(Enums.ComponentType.File, artifact.name, { bomRef: `artifact:${artifact.name}` });
    c.hashes.set(Enums.HashAlgorithm['SHA-256'], artifact.digests.sha256);
    c.hashes.set(Enums.HashAlgorithm['SHA-512'], artifact.digests.sha512);
    c.properties.add(new Models.Property('kiln:artifact:from', `step:${artifact.from}`));
    for (const dep of graph.step(artifact.from)) {
      const target = components.get(dep);
      if (target) c.dependencies.add(target.bomRef);
    }
    product.dependencies.add(c.bomRef);
    components.set(c.bomRef.value!, c);
  }
  for (const c of components.values()) bom.components.add(c);

  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  return JSON.parse(serializer.serialize(bom, { sortLists: true })) as object;
}

/**
 * `urn:uuid:` from the SHA-256 of the recipe digest and the artifacts' digests, with the
 * version nibble set to 5 (name-based) and the RFC 4122 variant bits: the CycloneDX schema
 * admits only versions 1–5, and the same build must give the same serial number.
 */
export function sbomSerialNumber(summary: BuildSummary): string {
  const material = canonicalJSON({ recipe: summary.recipe.digest, artifacts: summary.artifacts.map((a) => [a.name, a.digests.sha256]) });
  const b = createHash('sha256').update(material).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function inputComponent(name: string, input: BuildSummary['inputs'][string], recipe: Recipe): CDX.Models.Component {
  const { Enums, Models } = library();
  const spec = recipe.inputs[name];
  const bomRef = `input:${name}`;
  let c: CDX.Models.Component;
  if (spec?.kind === 'deb') {
    c = new Models.Component(Enums.ComponentType.Library, spec.package, { bomRef, version: spec.version, purl: debPurl(spec.package, spec.version, spec.arch) });
  } else if (spec?.kind === 'debsrc') {
    // purl spec, type deb: a source package is `arch=source`.
    c = new Models.Component(Enums.ComponentType.Library, spec.package, {
      bomRef,
      version: spec.version,
      purl: `pkg:deb/debian/${encodeURIComponent(spec.package)}@${encodeURIComponent(spec.version)}?arch=source`,
    });
  } else if (spec?.kind === 'git') {
    const vcs = `git+${spec.url}@${spec.commit}`;
    c = new Models.Component(Enums.ComponentType.Library, name, {
      bomRef,
      version: spec.commit,
      purl: `pkg:generic/${encodeURIComponent(name)}?vcs_url=${qualifierValue(vcs).replace(/%2B/g, '+')}`,
    });
    c.externalReferences.add(new Models.ExternalReference(spec.url, Enums.ExternalReferenceType.VCS));
  } else if (input.kind === 'npm' || input.uri.startsWith('pkg:npm/')) {
    const parsed = /^pkg:npm\/(?:(%40[^/]+)\/)?([^@/?#]+)@([^?#]+)/.exec(input.uri);
    c = new Models.Component(Enums.ComponentType.Library, parsed ? decodeURIComponent(parsed[2]!) : name, {
      bomRef,
      purl: input.uri,
      ...(parsed?.[1] && { group: decodeURIComponent(parsed[1]) }),
      ...(parsed && { version: decodeURIComponent(parsed[3]!) }),
    });
  } else {
    const downloadUrl = spec?.kind === 'url' ? spec.url : /^https?:/.test(input.uri) ? input.uri : undefined;
    c = new Models.Component(Enums.ComponentType.File, name, { bomRef, purl: genericPurl(name, input.digest, downloadUrl) });
    if (downloadUrl) c.externalReferences.add(new Models.ExternalReference(downloadUrl, Enums.ExternalReferenceType.Distribution));
  }
  c.hashes.set(Enums.HashAlgorithm['SHA-256'], hex(input.digest));
  const extra = sriExtraDigests(input.integrity);
  if (extra.sha384) c.hashes.set(Enums.HashAlgorithm['SHA-384'], extra.sha384);
  if (extra.sha512) c.hashes.set(Enums.HashAlgorithm['SHA-512'], extra.sha512);
  c.properties.add(new Models.Property('kiln:input:name', name));
  c.properties.add(new Models.Property('kiln:input:kind', input.kind));
  c.properties.add(new Models.Property('kiln:input:integrity', input.integrity));
  c.properties.add(new Models.Property('kiln:input:uri', input.uri));
  return c;
}

/** `pkg:deb/debian/<name>@<version>?arch=<arch>` (purl spec, type deb); the same form fetch records as the input's uri. */
export function debPurl(pkg: string, version: string, arch: string): string {
  return `pkg:deb/debian/${encodeURIComponent(pkg)}@${encodeURIComponent(version)}?arch=${encodeURIComponent(arch)}`;
}

/**
 * `pkg:generic/<input name>@<digest>[?download_url=<url>]` (purl spec, type generic: there
 * is no registry, the name may be a file name, and download_url says where it came from). A
 * url or path input has no version of its own; its pinned digest identifies it, so it stands
 * in the version field. A path input gets no download_url: a path on the builder's disk is
 * not a place anyone can download from.
 */
export function genericPurl(name: string, digest: string, downloadUrl?: string): string {
  const base = `pkg:generic/${encodeURIComponent(name)}@${encodeURIComponent(digest)}`;
  return downloadUrl ? `${base}?download_url=${qualifierValue(downloadUrl)}` : base;
}

/** `pkg:oci/<name>@sha256%3A<hex>?repository_url=<registry>/<path>` (purl spec, type oci). */
export function ociPurl(ref: string): string {
  const at = ref.lastIndexOf('@');
  const repository = at >= 0 ? ref.slice(0, at) : ref;
  const digest = at >= 0 ? ref.slice(at + 1) : '';
  const name = repository.slice(repository.lastIndexOf('/') + 1).replace(/:[^/]*$/, '');
  return `pkg:oci/${encodeURIComponent(name.toLowerCase())}${digest ? `@${encodeURIComponent(digest)}` : ''}?repository_url=${qualifierValue(repository)}`;
}

/** Percent-encodes a qualifier value, keeping `:` and `/` readable as packageurl-js does. */
function qualifierValue(value: string): string {
  return encodeURIComponent(value).replace(/%3A/g, ':').replace(/%2F/g, '/');
}

function hex(digest: string): string {
  return digest.startsWith('sha256:') ? digest.slice('sha256:'.length) : digest;
}

/** Transitive inputs and images per step and per image, as bom-refs, from the recipe's graph. */
function dependencyGraph(recipe: Recipe): { step: (name: string) => Set<string>; image: (name: string) => Set<string> } {
  const steps = new Map<string, Set<string>>();
  const images = new Map<string, Set<string>>();
  const visiting = new Set<string>();
  const image = (name: string): Set<string> => {
    const known = images.get(name);
    if (known) return known;
    const out = new Set<string>([`image:${name}`]);
    const spec = recipe.images[name];
    if (spec?.kind === 'rootfs') out.add(`input:${spec.input}`);
    if (spec?.kind === 'step') for (const d of step(spec.step)) out.add(d);
    images.set(name, out);
    return out;
  };
  const step = (name: string): Set<string> => {
    const known = steps.get(name);
    if (known) return known;
    const out = new Set<string>();
    const spec = recipe.steps[name];
    // The recipe was checked for cycles when it was loaded; this guard only keeps a hand-made
    // Recipe from recursing forever.
    if (!spec || visiting.has(name)) return out;
    visiting.add(name);
    for (const i of spec.inputs) out.add(`input:${i}`);
    for (const d of image(spec.image)) out.add(d);
    for (const n of spec.needs) for (const d of step(n)) out.add(d);
    visiting.delete(name);
    steps.set(name, out);
    return out;
  };
  return { step, image };
}

/**
 * What the SBOM is a function of: a cache of built SBOMs is keyed by its digest, so a
 * build served from the action cache need not load the CycloneDX library at all.
 */
export function sbomCacheKey(summary: BuildSummary, recipe: Recipe, options: SbomOptions = {}): string {
  const inputs = Object.fromEntries(Object.entries(summary.inputs).map(([n, i]) => [n, { ...i, cached: undefined }]));
  return createHash('sha256')
    .update(canonicalJSON({ kiln: 'sbom-key/v1', kilnVersion: options.kilnVersion, recipe: recipe.digest, text: recipe.text, sourceDateEpoch: summary.sourceDateEpoch, artifacts: summary.artifacts, inputs, images: summary.images }))
    .digest('hex');
}
