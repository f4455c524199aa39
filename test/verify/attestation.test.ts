import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { envelopeToJSON, toSigstoreBundle } from '../../src/attest/index.js';
import { parseAttestationFile, readAttestationFile } from '../../src/verify/index.js';
import { makeTempDir, rejectsWithCode, throwsWithCode } from '../helpers/index.js';
import { artifactOf, jsonl, makeKey, makeProvenance, NPM, npmFixture, sign } from './provenance-helpers.js';

type Located = Error & { code: string; where?: { file: string; line?: number; column?: number } };

const key = makeKey('k');
const envelope = sign(makeProvenance([artifactOf('a', 'a')]), [key.signer]);

const parseAttestationFileSuite = suite('parseAttestationFile');

parseAttestationFileSuite('reads one JSON envelope', () => {
  const a = parseAttestationFile(JSON.stringify(envelope, null, 2), 'a.json');
  assert.is(a.kind, 'dsse');
  if (a.kind === 'dsse') assert.equal(a.envelopes, [envelope]);
});

parseAttestationFileSuite('reads JSON Lines, ignoring lines that are not envelopes', () => {
  const text = `${envelopeToJSON(envelope)}\n{"something":"else"}\n\n${envelopeToJSON(envelope)}\n`;
  const a = parseAttestationFile(text, 'a.intoto.jsonl');
  assert.is(a.kind, 'dsse');
  if (a.kind === 'dsse') assert.equal(a.lines, [1, 4]);
});

parseAttestationFileSuite('reports a line that is not JSON with file and line', () => {
  const err = throwsWithCode<Located>(() => parseAttestationFile(`${jsonl(envelope)}{"payload": oops}\n`, 'a.intoto.jsonl'), 'KILN_VERIFY_BAD_ATTESTATION');
  assert.equal([err.where?.file, err.where?.line], ['a.intoto.jsonl', 2]);
});

parseAttestationFileSuite('reports a single broken JSON document at its line', () => {
  const err = throwsWithCode<Located>(() => parseAttestationFile('{\n  "payload": "x",\n  oops\n}', 'a.json'), 'KILN_VERIFY_BAD_ATTESTATION');
  assert.is(err.where?.line, 3);
});

parseAttestationFileSuite('rejects JSON that is neither an envelope nor a bundle, and a file with no envelope', () => {
  throwsWithCode(() => parseAttestationFile('{"hello": 1}', 'a.json'), 'KILN_VERIFY_BAD_ATTESTATION');
  throwsWithCode(() => parseAttestationFile('{"a":1}\n{"b":2}\n', 'a.intoto.jsonl'), 'KILN_VERIFY_BAD_ATTESTATION');
});

parseAttestationFileSuite('rejects an envelope whose signature is not base64', () => {
  const bad = { ...envelope, signatures: [{ keyid: '', sig: '***' }] };
  throwsWithCode(() => parseAttestationFile(JSON.stringify(bad), 'a.json'), 'KILN_VERIFY_BAD_ATTESTATION');
});

parseAttestationFileSuite('rejects kiln\'s unsigned statements file with a hint', () => {
  const err = throwsWithCode<Located & { hint?: string }>(
    () => parseAttestationFile(JSON.stringify({ kiln: 'kiln-unsigned-statements/v1', signed: false, statements: [] }), 'a.statement.json'),
    'KILN_VERIFY_BAD_ATTESTATION',
  );
  assert.match(err.message, /unsigned/);
});

parseAttestationFileSuite('reads a kiln key-based Sigstore bundle as not keyless', () => {
  const a = parseAttestationFile(JSON.stringify(toSigstoreBundle(envelope, key.signer)), 'a.sigstore.json');
  assert.is(a.kind, 'sigstore');
  if (a.kind === 'sigstore') {
    assert.is(a.keyless, false);
    assert.is(a.envelope.signatures[0]?.keyid, key.signer.keyid);
  }
});

parseAttestationFileSuite('reads npm\'s keyless bundle, and takes the provenance from the attestations document', () => {
  const bundle = parseAttestationFile(readFileSync(npmFixture(NPM.bundle), 'utf8'), NPM.bundle);
  const doc = parseAttestationFile(readFileSync(npmFixture(NPM.attestations), 'utf8'), NPM.attestations);
  assert.is(bundle.kind === 'sigstore' && bundle.keyless, true);
  assert.is(doc.kind === 'sigstore' && doc.keyless, true);
  if (bundle.kind === 'sigstore' && doc.kind === 'sigstore') assert.is(doc.envelope.payload, bundle.envelope.payload);
});

parseAttestationFileSuite('rejects a malformed Sigstore bundle', () => {
  throwsWithCode(() => parseAttestationFile(JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' }), 'b.json'), 'KILN_VERIFY_BAD_ATTESTATION');
});

const readAttestationFileSuite = suite('readAttestationFile');

readAttestationFileSuite('reads a file from disk, and a missing one is KILN_VERIFY_UNREADABLE', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const file = join(dir, 'a.intoto.jsonl');
    await writeFile(file, jsonl(envelope));
    assert.is((await readAttestationFile(file)).kind, 'dsse');
    await rejectsWithCode(() => readAttestationFile(join(dir, 'missing.jsonl')), 'KILN_VERIFY_UNREADABLE');
  } finally {
    await cleanup();
  }
});

parseAttestationFileSuite.run();
readAttestationFileSuite.run();
