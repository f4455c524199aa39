import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  attestBuild,
  buildProvenance,
  buildSbom,
  envelopeFromJSON,
  generateKeyPair,
  createSigner,
  loadTrustedKey,
  resolveSignKey,
  statementFromPayload,
  verifyEnvelopeSignatures,
  writeAttestations,
  writeKeyPair,
  PAYLOAD_TYPE_INTOTO,
  PREDICATE_CYCLONEDX,
  PREDICATE_SLSA_PROVENANCE_V1,
  SIGN_KEY_ENV,
  UNSIGNED_STATEMENTS_FORMAT,
  type UnsignedStatements,
} from '../../src/attest/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { loadFixtureBuild } from './support.js';

function statements() {
  const { summary, recipe } = loadFixtureBuild();
  return {
    provenance: buildProvenance(summary, recipe, { kilnVersion: '0.1.0', invocationId: 'urn:uuid:1' }),
    sbom: buildSbom(summary, recipe),
  };
}

const write = suite('writeAttestations');

write('signed: writes <name>.intoto.jsonl (provenance, SBOM), <name>.sigstore.json and <name>.cdx.json', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const pair = generateKeyPair();
    const signer = createSigner(pair.privateKeyPem);
    const s = statements();
    const result = await writeAttestations(dir, 'tool', s, signer);
    assert.is(result.signed, true);
    assert.equal(result.files, ['tool.intoto.jsonl', 'tool.sigstore.json', 'tool.cdx.json'].map((f) => join(dir, f)));
    assert.equal((await readdir(dir)).sort(), ['tool.cdx.json', 'tool.intoto.jsonl', 'tool.sigstore.json']);

    const text = await readFile(join(dir, 'tool.intoto.jsonl'), 'utf8');
    assert.ok(text.endsWith('\n'));
    const lines = text.trimEnd().split('\n');
    assert.is(lines.length, 2);
    const key = loadTrustedKey(pair.publicKeyPem, 'k.pub');
    const types = lines.map((line) => {
      const envelope = envelopeFromJSON(line);
      assert.is(envelope.payloadType, PAYLOAD_TYPE_INTOTO);
      const { payload, validKeyids } = verifyEnvelopeSignatures(envelope, [key]);
      assert.equal(validKeyids, [signer.keyid]);
      return statementFromPayload(payload);
    });
    assert.equal(types.map((t) => t.predicateType), [PREDICATE_SLSA_PROVENANCE_V1, PREDICATE_CYCLONEDX]);
    assert.equal(types[0], s.provenance);
    assert.equal(types[1]!.subject, s.provenance.subject);
    assert.equal(types[1]!.predicate, s.sbom);

    const bundle = JSON.parse(await readFile(join(dir, 'tool.sigstore.json'), 'utf8'));
    assert.is(bundle.dsseEnvelope.payload, envelopeFromJSON(lines[0]!).payload);
    assert.equal(JSON.parse(await readFile(join(dir, 'tool.cdx.json'), 'utf8')), s.sbom);
  } finally {
    await cleanup();
  }
});

write('unsigned: writes <name>.statement.json marked unsigned and no envelope or bundle', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const s = statements();
    const result = await writeAttestations(dir, 'tool', s);
    assert.is(result.signed, false);
    assert.equal((await readdir(dir)).sort(), ['tool.cdx.json', 'tool.statement.json']);
    const unsigned = JSON.parse(await readFile(join(dir, 'tool.statement.json'), 'utf8')) as UnsignedStatements;
    assert.is(unsigned.kiln, UNSIGNED_STATEMENTS_FORMAT);
    assert.is(unsigned.signed, false);
    assert.equal(unsigned.statements[0], s.provenance);
    assert.is(unsigned.statements[1]!.predicateType, PREDICATE_CYCLONEDX);
  } finally {
    await cleanup();
  }
});

write('removes the other mode\'s files left by an earlier run, and leaves no temp files', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const signer = createSigner(generateKeyPair().privateKeyPem);
    await writeAttestations(dir, 'tool', statements(), signer);
    await writeAttestations(dir, 'tool', { provenance: statements().provenance });
    assert.equal((await readdir(dir)).sort(), ['tool.statement.json']);
    await writeAttestations(dir, 'tool', statements(), signer);
    assert.equal((await readdir(dir)).sort(), ['tool.cdx.json', 'tool.intoto.jsonl', 'tool.sigstore.json']);
  } finally {
    await cleanup();
  }
});

write('leaves other files in the folder alone', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeFile(join(dir, 'tool-2.1.0.tar.gz'), 'artifact');
    await writeAttestations(dir, 'tool', statements());
    assert.is(await readFile(join(dir, 'tool-2.1.0.tar.gz'), 'utf8'), 'artifact');
  } finally {
    await cleanup();
  }
});

write('fails with KILN_ATTEST_WRITE when the folder cannot be made', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeFile(join(dir, 'file'), '');
    await rejectsWithCode(() => writeAttestations(join(dir, 'file', 'out'), 'tool', statements()), 'KILN_ATTEST_WRITE');
  } finally {
    await cleanup();
  }
});

const attest = suite('attestBuild');

attest('signs with the key from KILN_SIGN_KEY when no flag is given', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const { summary, recipe } = loadFixtureBuild();
    const keys = await writeKeyPair(join(dir, 'k'));
    const out = join(dir, 'out');
    const result = await attestBuild(out, summary, recipe, { kilnVersion: '0.1.0', env: { [SIGN_KEY_ENV]: keys.privateKeyFile } });
    assert.is(result.signed, true);
    assert.is(result.keyid, createSigner(await readFile(keys.privateKeyFile, 'utf8')).keyid);
    assert.equal((await readdir(out)).sort(), ['tool.cdx.json', 'tool.intoto.jsonl', 'tool.sigstore.json']);
  } finally {
    await cleanup();
  }
});

attest('writes unsigned statements when no key is given', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const { summary, recipe } = loadFixtureBuild();
    const result = await attestBuild(dir, summary, recipe, { kilnVersion: '0.1.0', env: {}, name: 'x' });
    assert.is(result.signed, false);
    assert.equal((await readdir(dir)).sort(), ['x.cdx.json', 'x.statement.json']);
  } finally {
    await cleanup();
  }
});

attest('a bad key fails before any file is written', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const { summary, recipe } = loadFixtureBuild();
    await writeFile(join(dir, 'bad.key'), 'not a key');
    const out = join(dir, 'out');
    await rejectsWithCode(() => attestBuild(out, summary, recipe, { kilnVersion: '0.1.0', signKey: join(dir, 'bad.key') }), 'KILN_ATTEST_BAD_KEY');
    assert.equal((await readdir(dir)).sort(), ['bad.key']);
  } finally {
    await cleanup();
  }
});

const resolve = suite('resolveSignKey');

resolve('prefers the flag, then the environment, and treats empty as unset', () => {
  assert.is(resolveSignKey('a.key', { [SIGN_KEY_ENV]: 'b.key' }), 'a.key');
  assert.is(resolveSignKey(undefined, { [SIGN_KEY_ENV]: 'b.key' }), 'b.key');
  assert.is(resolveSignKey('', { [SIGN_KEY_ENV]: '' }), undefined);
  assert.is(resolveSignKey(undefined, {}), undefined);
});

write.run();
attest.run();
resolve.run();
