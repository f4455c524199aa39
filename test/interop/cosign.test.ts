import { appendFile, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { makeTempDir } from '../helpers/index.js';
import { peerSuite } from '../helpers/peers.js';
import { buildHello, EXAMPLE_KEY, EXAMPLE_PUB, expectRow, keygen, sha256Hex, statementOf, writeJSON, type HelloBuild } from './support.js';

/**
 * cosign (docs/interop.md, rows cosign-*): kiln's key-based Sigstore bundle and envelopes
 * verify with `cosign verify-blob` / `verify-blob-attestation`; what cosign signs with a key it
 * generated verifies with `kiln verify` / `kiln inspect`.
 */

const keys = { ed25519: { private: EXAMPLE_KEY, public: EXAMPLE_PUB } } as Record<string, { private: string; public: string }>;

const kilnToCosign = peerSuite('cosign verifies what kiln build wrote', ['cosign']);

let tmp: { dir: string; cleanup: () => Promise<void> };
const builds: Record<string, HelloBuild> = {};

kilnToCosign.before(async () => {
  tmp = await makeTempDir('kiln-interop-cosign-');
  keys['ecdsa-p256'] = await keygen(tmp.dir, 'p256', 'ecdsa-p256');
  for (const algorithm of Object.keys(keys)) builds[algorithm] = await buildHello(join(tmp.dir, algorithm), keys[algorithm]!);
  await keygen(tmp.dir, 'other', 'ed25519');
});
kilnToCosign.after(() => tmp.cleanup());

for (const algorithm of ['ed25519', 'ecdsa-p256']) {
  kilnToCosign(`${algorithm}: verify-blob accepts the artifact with kiln's bundle, and refuses it with one byte appended`, async () => {
    const build = builds[algorithm]!;
    const ok = await expectRow('cosign-blob', build.dir);
    assert.match(ok.output, /Verified OK/);
    const tampered = join(build.dir, 'tampered');
    await mkdir(tampered, { recursive: true });
    for (const f of ['kiln.pub', 'hello.sigstore.json', build.artifact]) await copyFile(join(build.dir, f), join(tampered, f));
    await appendFile(join(tampered, build.artifact), Buffer.from([0]));
    const bad = await expectRow('cosign-blob-tampered', tampered);
    assert.match(bad.output, /provided artifact digests do not match digests in statement/);
  });

  kilnToCosign(`${algorithm}: verify-blob refuses kiln's bundle under another key`, async () => {
    const build = builds[algorithm]!;
    await copyFile(join(tmp.dir, 'other.pub'), join(build.dir, 'other.pub'));
    const bad = await expectRow('cosign-blob-other-key', build.dir);
    assert.not.match(bad.output, /Verified OK/);
  });

  kilnToCosign(`${algorithm}: verify-blob-attestation accepts kiln's bundle as SLSA provenance v1 and refuses it as an SBOM`, async () => {
    const build = builds[algorithm]!;
    const ok = await expectRow('cosign-attestation', build.dir);
    assert.match(ok.output, /Verified OK/);
    const wrongType = await expectRow('cosign-attestation-type', build.dir);
    assert.match(wrongType.output, /invalid predicate type/);
  });

  kilnToCosign(`${algorithm}: verify-blob-attestation accepts line 1 of kiln's .intoto.jsonl as a plain envelope`, async () => {
    const build = builds[algorithm]!;
    const [first] = (await readFile(join(build.dir, 'hello.intoto.jsonl'), 'utf8')).split('\n');
    await writeFile(join(build.dir, 'provenance.intoto.json'), first!);
    const ok = await expectRow('cosign-attestation-envelope', build.dir);
    assert.match(ok.output, /Verified OK/);
  });
}

kilnToCosign.run();

const cosignToKiln = peerSuite('kiln verifies what cosign signed with a key it generated', ['cosign']);

let work: { dir: string; cleanup: () => Promise<void> };
let predicate: unknown;

cosignToKiln.before(async () => {
  work = await makeTempDir('kiln-interop-cosign-kiln-');
  // kiln's own provenance predicate, so that kiln verify's provenance checks have something
  // real to check; the subject is whatever cosign is told to attest.
  const build = await buildHello(join(work.dir, 'build'), { private: EXAMPLE_KEY, public: EXAMPLE_PUB });
  predicate = (await statementOf(join(build.dir, 'hello.intoto.jsonl'))).statement.predicate;
});
cosignToKiln.after(() => work.cleanup());

/** A fresh folder with blob.txt, other.txt and kiln's predicate (cosign generate-key-pair runs in it). */
async function cosignFolder(name: string): Promise<string> {
  const dir = join(work.dir, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'blob.txt'), 'a blob cosign attests\n');
  await writeFile(join(dir, 'other.txt'), 'another blob\n');
  await writeJSON(join(dir, 'predicate.json'), predicate);
  return dir;
}

cosignToKiln('cosign attest-blob --predicate (a Statement v0.1): kiln verify passes it, and says which statement type it read', async () => {
  const dir = await cosignFolder('attest-blob');
  const ok = await expectRow('cosign-attest-blob-to-kiln', dir);
  assert.match(ok.stdout, /statement-type\s+https:\/\/in-toto\.io\/Statement\/v0\.1/);
  assert.match(ok.stdout, /subject:blob\.txt\s+sha256 matches/);
  assert.not.match(ok.stdout, /ignored/, 'the one signature is the trusted one');
  const key = await readFile(join(dir, 'cosign.key'), 'utf8');
  assert.match(key, /ENCRYPTED SIGSTORE PRIVATE KEY/, 'the key is cosign\'s own');
});

cosignToKiln('cosign attest-blob: kiln inspect shows the signature verified by cosign\'s public key', async () => {
  const dir = await cosignFolder('inspect');
  const shown = await expectRow('cosign-attest-blob-to-kiln-inspect', dir);
  assert.match(shown.stdout, /\(no keyid\)\s+verified by cosign\.pub/);
  assert.match(shown.stdout, /blob\.txt\s+sha256:/);
});

cosignToKiln('cosign attest-blob: kiln verify refuses it for another blob', async () => {
  const dir = await cosignFolder('other-blob');
  const bad = await expectRow('cosign-attest-blob-to-kiln-other-blob', dir);
  assert.is(bad.code, 1, 'a verdict of failure, not bad input');
  assert.match(bad.stdout, /✗ subject:other\.txt/);
});

cosignToKiln('cosign attest-blob --statement (a Statement v1 as given): kiln verify passes it', async () => {
  const dir = await cosignFolder('statement');
  const digest = sha256Hex(await readFile(join(dir, 'blob.txt')));
  await writeJSON(join(dir, 'statement.json'), {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'blob.txt', digest: { sha256: digest } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate,
  });
  const ok = await expectRow('cosign-attest-statement-to-kiln', dir);
  assert.match(ok.stdout, /statement-type\s+https:\/\/in-toto\.io\/Statement\/v1/);
  assert.match(ok.stdout, /^PASSED/m);
});

cosignToKiln('cosign sign-blob: kiln verify refuses a plain message signature as input, exit 2, and says why', async () => {
  const dir = await cosignFolder('sign-blob');
  const bad = await expectRow('cosign-sign-blob-to-kiln', dir);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /signs a message, not an attestation/);
  const bundle = JSON.parse(await readFile(join(dir, 'blob.sigstore.json'), 'utf8')) as Record<string, unknown>;
  assert.ok('messageSignature' in bundle, 'cosign really wrote a message-signature bundle');
});

cosignToKiln.run();

