import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { makeTempDir, repoRoot } from '../helpers/index.js';
import { peerSuite } from '../helpers/peers.js';
import { buildHello, EXAMPLE_KEY, EXAMPLE_PUB, expectRow, keygen, kiln, rebuild, sha256Hex, statementOf } from './support.js';

/**
 * slsa-verifier verify-vsa (docs/interop.md, rows slsa-verifier-*) on the VSAs `kiln rebuild`
 * writes: accepted with the rebuilder's key, verifier id, resource URI and claimed level;
 * rejected for another resource, verifier, level, digest or key, and for a FAILED verdict.
 */

const root = repoRoot();
const vsaSuite = peerSuite('slsa-verifier verify-vsa on kiln rebuild verdicts', ['slsa-verifier']);

let tmp: { dir: string; cleanup: () => Promise<void> };
/** Per rebuilder key algorithm: the folder holding hello.vsa.intoto.jsonl, rebuilder.pub, other.pub. */
const folders: Record<string, string> = {};
let artifactSha256 = '';

vsaSuite.before(async () => {
  tmp = await makeTempDir('kiln-interop-vsa-');
  const build = await buildHello(join(tmp.dir, 'build'), { private: EXAMPLE_KEY, public: EXAMPLE_PUB });
  artifactSha256 = build.sha256;
  const other = await keygen(tmp.dir, 'other', 'ed25519');
  for (const algorithm of ['ed25519', 'ecdsa-p256'] as const) {
    const dir = join(tmp.dir, algorithm);
    await mkdir(dir);
    const key = await keygen(dir, 'rebuilder', algorithm);
    const vsa = await rebuild(join(build.dir, 'hello.intoto.jsonl'), {
      keys: [EXAMPLE_PUB],
      inputs: [`src=${join(root, 'examples', 'hello', 'src')}`],
      signKey: key.private,
      out: join(dir, 'rebuilt'),
    });
    await copyFile(vsa, join(dir, 'hello.vsa.intoto.jsonl'));
    await copyFile(other.public, join(dir, 'other.pub'));
    folders[algorithm] = dir;
  }
});
vsaSuite.after(() => tmp.cleanup());

for (const algorithm of ['ed25519', 'ecdsa-p256']) {
  vsaSuite(`${algorithm}: accepts kiln's PASSED VSA with the rebuilder's key, verifier id, resource URI and level`, async () => {
    const { statement } = await statementOf(join(folders[algorithm]!, 'hello.vsa.intoto.jsonl'));
    assert.is(statement.predicate.verificationResult, 'PASSED', 'the rebuild reproduced the artifact');
    const ok = await expectRow('slsa-verifier-vsa', folders[algorithm]!, { ARTIFACT_SHA256: artifactSha256 });
    assert.match(ok.output, /PASSED: SLSA verification passed/);
  });

  vsaSuite(`${algorithm}: accepts it when told kiln's keyid (the signature is not skipped as another key's)`, async () => {
    const envelope = JSON.parse((await readFile(join(folders[algorithm]!, 'hello.vsa.intoto.jsonl'), 'utf8')).split('\n')[0]!) as { signatures: Array<{ keyid: string }> };
    const keyid = envelope.signatures[0]!.keyid;
    assert.match(keyid, /^SHA256:[A-Za-z0-9+/]{43}$/);
    const ok = await expectRow('slsa-verifier-vsa-key-id', folders[algorithm]!, { ARTIFACT_SHA256: artifactSha256, KEYID: keyid });
    assert.match(ok.output, /PASSED: SLSA verification passed/);
  });

  vsaSuite(`${algorithm}: rejects it for another resource`, async () => {
    const bad = await expectRow('slsa-verifier-vsa-resource', folders[algorithm]!, { ARTIFACT_SHA256: artifactSha256 });
    assert.match(bad.output, /resource URI mismatch/);
  });

  vsaSuite(`${algorithm}: rejects it for another verifier, a level kiln does not claim, other bytes, another key`, async () => {
    const vars = { ARTIFACT_SHA256: artifactSha256, OTHER_SHA256: sha256Hex('other bytes') };
    assert.match((await expectRow('slsa-verifier-vsa-verifier', folders[algorithm]!, vars)).output, /verifier ID mismatch/);
    assert.match((await expectRow('slsa-verifier-vsa-level', folders[algorithm]!, vars)).output, /verified levels do not match/);
    assert.match((await expectRow('slsa-verifier-vsa-digest', folders[algorithm]!, vars)).output, /expected digest not found/);
    assert.match((await expectRow('slsa-verifier-vsa-key', folders[algorithm]!, vars)).output, /no valid signature/);
  });
}

vsaSuite('rejects kiln\'s FAILED VSA (a rebuild of examples/unreproducible)', async () => {
  const dir = join(tmp.dir, 'failed');
  await mkdir(dir);
  const built = await kiln(['build', join(root, 'examples', 'unreproducible'), '--out', join(dir, 'original'), '--sign-key', EXAMPLE_KEY], dir);
  assert.is(built.code, 0, built.stderr);
  const vsa = await rebuild(join(dir, 'original', 'unreproducible.intoto.jsonl'), { keys: [EXAMPLE_PUB], signKey: EXAMPLE_KEY, out: join(dir, 'rebuilt') });
  await copyFile(vsa, join(dir, 'unreproducible.vsa.intoto.jsonl'));
  await copyFile(EXAMPLE_PUB, join(dir, 'rebuilder.pub'));
  const { statement } = await statementOf(join(dir, 'unreproducible.vsa.intoto.jsonl'));
  assert.is(statement.predicate.verificationResult, 'FAILED', 'the rebuild did not reproduce the artifact');
  // asked about the very digest the VSA names, so that only the verdict can make it fail
  const bad = await expectRow('slsa-verifier-vsa-failed', dir, { VSA_SUBJECT_SHA256: statement.subject[0].digest.sha256 });
  assert.match(bad.output, /verificationResult is not PASSED/);
});

vsaSuite.run();
