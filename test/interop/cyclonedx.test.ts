import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { makeTempDir } from '../helpers/index.js';
import { peerSuite } from '../helpers/peers.js';
import { buildHello, EXAMPLE_KEY, EXAMPLE_PUB, expectRow, statementOf, type HelloBuild } from './support.js';

/**
 * kiln's CycloneDX SBOM against a second, independent validator (docs/interop.md, rows
 * cyclonedx-*): cyclonedx-python-lib's JsonStrictValidator, besides the JavaScript library's
 * validator that test/attest/sbom.test.ts runs.
 */

const cdx = peerSuite('cyclonedx-python-lib validates kiln\'s SBOM', ['python']);

let tmp: { dir: string; cleanup: () => Promise<void> };
let build: HelloBuild;

cdx.before(async () => {
  tmp = await makeTempDir('kiln-interop-cdx-');
  build = await buildHello(join(tmp.dir, 'build'), { private: EXAMPLE_KEY, public: EXAMPLE_PUB });
});
cdx.after(() => tmp.cleanup());

cdx('hello.cdx.json is valid CycloneDX for the specVersion it declares, and so is the signed SBOM statement\'s predicate', async () => {
  const ok = await expectRow('cyclonedx-sbom', build.dir);
  assert.equal(JSON.parse(ok.stdout), { specVersion: '1.6', errors: null });
  // the predicate of line 2 of hello.intoto.jsonl is the same document
  const dir = join(tmp.dir, 'predicate');
  await mkdir(dir);
  const { statement } = await statementOf(join(build.dir, 'hello.intoto.jsonl'), 2);
  await writeFile(join(dir, 'hello.cdx.json'), JSON.stringify(statement.predicate));
  const fromStatement = await expectRow('cyclonedx-sbom', dir);
  assert.equal(JSON.parse(fromStatement.stdout), { specVersion: '1.6', errors: null });
});

cdx('the validator bites: an unknown property in a component is refused', async () => {
  const sbom = JSON.parse(await readFile(join(build.dir, 'hello.cdx.json'), 'utf8')) as { components: Array<Record<string, unknown>> };
  assert.ok(sbom.components.length > 0);
  sbom.components[0]!.bogus = true;
  await writeFile(join(build.dir, 'broken.cdx.json'), JSON.stringify(sbom));
  const bad = await expectRow('cyclonedx-sbom-broken', build.dir);
  assert.match(JSON.parse(bad.stdout).errors, /Additional properties are not allowed \('bogus' was unexpected\)/);
});

cdx.run();
