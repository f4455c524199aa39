import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { makeTempDir, repoRoot } from '../helpers/index.js';
import { peerSuite } from '../helpers/peers.js';
import { buildHello, EXAMPLE_KEY, EXAMPLE_PUB, expectRow, rebuild, statementOf, writeJSON, type HelloBuild } from './support.js';

/**
 * Format conformance (docs/interop.md, rows intoto-*): kiln's statements, SLSA provenance and
 * VSA against the in-toto attestation framework's schemas, which it publishes as protobuf
 * definitions (compiled into the `in-toto-attestation` Python package; no JSON Schema is
 * published, by in-toto or by SLSA). test/fixtures/interop/intoto_validate.py says exactly
 * what is checked.
 */

const root = repoRoot();
const intoto = peerSuite('in-toto attestation framework bindings validate kiln statements', ['python']);

let tmp: { dir: string; cleanup: () => Promise<void> };
let build: HelloBuild;

intoto.before(async () => {
  tmp = await makeTempDir('kiln-interop-intoto-');
  build = await buildHello(join(tmp.dir, 'build'), { private: EXAMPLE_KEY, public: EXAMPLE_PUB });
});
intoto.after(() => tmp.cleanup());

interface Validation {
  predicateType: string;
  statement: string;
  predicate: string | null;
  protoGaps: string[];
}

intoto('the provenance statement is a valid Statement and SLSA Provenance v1, in the .intoto.jsonl and in the Sigstore bundle', async () => {
  for (const file of ['hello.intoto.jsonl', 'hello.sigstore.json']) {
    const result = JSON.parse((await expectRow('intoto-provenance', build.dir, { FILE: file })).stdout) as Validation;
    assert.equal(result, { predicateType: 'https://slsa.dev/provenance/v1', statement: 'valid', predicate: 'valid', protoGaps: [] }, file);
  }
});

intoto('the SBOM statement is a valid Statement', async () => {
  const result = JSON.parse((await expectRow('intoto-sbom-statement', build.dir)).stdout) as Validation;
  assert.equal(result, { predicateType: 'https://cyclonedx.org/bom', statement: 'valid', predicate: null, protoGaps: [] });
});

intoto('the VSA is valid except where the framework\'s vsa.proto disagrees with the SLSA spec, and only there', async () => {
  const dir = join(tmp.dir, 'vsa');
  await mkdir(dir);
  const vsa = await rebuild(join(build.dir, 'hello.intoto.jsonl'), {
    keys: [EXAMPLE_PUB],
    inputs: [`src=${join(root, 'examples', 'hello', 'src')}`],
    signKey: EXAMPLE_KEY,
    out: join(dir, 'rebuilt'),
  });
  await copyFile(vsa, join(dir, 'hello.vsa.intoto.jsonl'));
  const result = JSON.parse((await expectRow('intoto-vsa', dir)).stdout) as Validation;
  assert.equal(result, {
    predicateType: 'https://slsa.dev/verification_summary/v1',
    statement: 'valid',
    predicate: 'valid',
    protoGaps: ['verifier.version', 'verifiedLevels'],
  });
});

intoto('the validator bites: kiln\'s provenance with externalParameters emptied, or an unknown field, is refused', async () => {
  const dir = join(tmp.dir, 'broken');
  await mkdir(dir);
  const { statement } = await statementOf(join(build.dir, 'hello.intoto.jsonl'));
  await writeJSON(join(dir, 'broken.json'), { ...statement, predicate: { ...statement.predicate, buildDefinition: { ...statement.predicate.buildDefinition, externalParameters: {} } } });
  const bad = await expectRow('intoto-provenance-broken', dir);
  assert.match(bad.stdout, /buildDefinition\.externalParameters required/);
  await writeJSON(join(dir, 'broken.json'), { ...statement, predicate: { ...statement.predicate, runDetails: { ...statement.predicate.runDetails, bilder: {} } } });
  const typo = await expectRow('intoto-provenance-broken', dir);
  assert.match(typo.stdout, /has no field named \\"bilder\\"/);
  await writeJSON(join(dir, 'broken.json'), { ...statement, subject: [{ name: 'x' }] });
  const noDigest = await expectRow('intoto-provenance-broken', dir);
  assert.match(noDigest.stdout, /At least one digest required/);
});

intoto.run();
