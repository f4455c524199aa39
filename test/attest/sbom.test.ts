import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildSbom, debPurl, genericPurl, ociPurl, sbomSerialNumber } from '../../src/attest/index.js';
import { loadFixtureBuild } from './support.js';

interface Bom {
  specVersion: string;
  serialNumber: string;
  metadata: { timestamp: string; component: { name: string; version?: string; 'bom-ref': string } };
  components: Array<{ type: string; name: string; version?: string; 'bom-ref': string; purl?: string; hashes?: Array<{ alg: string; content: string }> }>;
  dependencies: Array<{ ref: string; dependsOn?: string[] }>;
}

const sbom = (): Bom => {
  const { summary, recipe } = loadFixtureBuild();
  return buildSbom(summary, recipe, { kilnVersion: '0.1.0' }) as Bom;
};

const build = suite('buildSbom');

build('is valid CycloneDX 1.6 JSON by the library\'s strict schema validator', async () => {
  const validator = new Validation.JsonStrictValidator(Spec.Version.v1dot6);
  const errors = await validator.validate(JSON.stringify(sbom()));
  assert.is(errors, null, JSON.stringify(errors));
});

build('the validator does reject a broken document (the check can fail)', async () => {
  const validator = new Validation.JsonStrictValidator(Spec.Version.v1dot6);
  const broken = { ...sbom(), serialNumber: 'not-a-urn' };
  assert.is.not(await validator.validate(JSON.stringify(broken)), null);
});

build('is deterministic: the same build gives the same document', () => {
  assert.is(JSON.stringify(sbom()), JSON.stringify(sbom()));
  const { summary } = loadFixtureBuild();
  assert.is(sbom().serialNumber, sbomSerialNumber(summary));
  // dated by SOURCE_DATE_EPOCH, never by the wall clock of the build
  assert.is(sbom().metadata.timestamp, new Date(summary.sourceDateEpoch * 1000).toISOString());
});

build('describes the recipe as the product', () => {
  assert.equal(
    { name: sbom().metadata.component.name, version: sbom().metadata.component.version },
    { name: 'tool', version: '2.1.0' },
  );
});

build('has every input with its hashes and purl: deb, url (with sha512), path', () => {
  const { summary } = loadFixtureBuild();
  const byRef = Object.fromEntries(sbom().components.map((c) => [c['bom-ref'], c]));
  const busybox = byRef['input:busybox']!;
  assert.is(busybox.purl, 'pkg:deb/debian/busybox-static@1%3A1.35.0-4%2Bdeb12u1%2Bb1?arch=amd64');
  assert.is(busybox.version, '1:1.35.0-4+deb12u1+b1');
  assert.equal(busybox.hashes, [{ alg: 'SHA-256', content: summary.inputs.busybox!.digest.slice(7) }]);
  const lib = byRef['input:lib']!;
  assert.is(lib.purl, `pkg:generic/lib@sha256%3A${summary.inputs.lib!.digest.slice(7)}?download_url=https://downloads.example.org/lib-1.0.tar.gz`);
  assert.equal(lib.hashes!.map((h) => h.alg), ['SHA-256', 'SHA-512']);
  assert.is(byRef['input:src']!.purl, `pkg:generic/src@sha256%3A${summary.inputs.src!.digest.slice(7)}`);
});

build('has every image and every artifact', () => {
  const { summary } = loadFixtureBuild();
  const refs = sbom().components.map((c) => c['bom-ref']);
  for (const name of Object.keys(summary.images)) assert.ok(refs.includes(`image:${name}`), name);
  const artifact = sbom().components.find((c) => c['bom-ref'] === 'artifact:tool-2.1.0.tar.gz')!;
  assert.equal(artifact.hashes, [
    { alg: 'SHA-256', content: summary.artifacts[0]!.digests.sha256 },
    { alg: 'SHA-512', content: summary.artifacts[0]!.digests.sha512 },
  ]);
  assert.is(sbom().components.find((c) => c['bom-ref'] === 'image:gcc')!.purl, ociPurl(summary.images.gcc!.ref!));
});

build('an artifact depends on exactly what its step reached, transitively', () => {
  const deps = Object.fromEntries(sbom().dependencies.map((d) => [d.ref, d.dependsOn ?? []]));
  // package runs in base (= rootfs's output, which ran in stage0 from busybox) and needs
  // compile (src and lib, in gcc).
  assert.equal(deps['artifact:tool-2.1.0.tar.gz'], ['image:base', 'image:gcc', 'image:stage0', 'input:busybox', 'input:lib', 'input:src']);
  assert.equal(deps['image:base'], ['image:stage0', 'input:busybox']);
  assert.equal(deps['recipe'], ['artifact:tool-2.1.0.tar.gz']);
});

const purls = suite('purls');

purls('debPurl percent-encodes epoch colons and plus signs', () => {
  assert.is(debPurl('busybox-static', '1:1.35.0-4+b3', 'amd64'), 'pkg:deb/debian/busybox-static@1%3A1.35.0-4%2Bb3?arch=amd64');
});

purls('genericPurl names the input, versions it by digest and keeps the URL readable', () => {
  assert.is(genericPurl('src', 'sha256:ab'), 'pkg:generic/src@sha256%3Aab');
  assert.is(genericPurl('lib', 'sha256:ab', 'https://e.org/a b.tgz'), 'pkg:generic/lib@sha256%3Aab?download_url=https://e.org/a%20b.tgz');
});

purls('ociPurl takes the last path segment as name and the repository as repository_url', () => {
  assert.is(ociPurl(`r.example:5000/team/gcc@sha256:${'1'.repeat(64)}`), `pkg:oci/gcc@sha256%3A${'1'.repeat(64)}?repository_url=r.example:5000/team/gcc`);
});

build.run();
purls.run();
