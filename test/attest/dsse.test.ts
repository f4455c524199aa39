import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  createSigner,
  decodePayload,
  envelopeFromJSON,
  envelopeToJSON,
  generateKeyPair,
  loadTrustedKey,
  pae,
  signEnvelope,
  verifyEnvelopeSignatures,
  PAYLOAD_TYPE_INTOTO,
  type KeyAlgorithm,
} from '../../src/attest/index.js';
import { throwsWithCode } from '../helpers/index.js';
import { DSSE_VECTOR, dsseVectorKeys, toUrlSafe } from './support.js';

const paeSuite = suite('pae');

paeSuite('matches the DSSE spec test vector byte for byte', () => {
  const bytes = pae(DSSE_VECTOR.payloadType, Buffer.from(DSSE_VECTOR.body));
  assert.is(bytes.toString('latin1'), DSSE_VECTOR.pae);
  assert.is(
    bytes.toString('hex'),
    '44535345763120323920687474703a2f2f6578616d706c652e636f6d2f48656c6c6f576f726c642031312068656c6c6f20776f726c64',
  );
});

paeSuite('matches the second vector (text/plain, Hello, World!)', () => {
  assert.is(pae('text/plain', Buffer.from('Hello, World!')).toString('utf8'), 'DSSEv1 10 text/plain 13 Hello, World!');
});

paeSuite('counts the bytes of a non-ASCII payload type, not its characters', () => {
  // 'application/typé' is 16 characters but 17 UTF-8 bytes.
  const bytes = pae('application/typé', Buffer.from('x'));
  assert.is(bytes.toString('utf8'), 'DSSEv1 17 application/typé 1 x');
});

paeSuite('counts the bytes of a non-ASCII payload', () => {
  const body = Buffer.from('héllo ✓', 'utf8');
  assert.is(pae('t', body).toString('utf8'), `DSSEv1 1 t ${body.length} héllo ✓`);
  assert.is(body.length, 10);
});

const verifySuite = suite('verifyEnvelopeSignatures');

verifySuite('accepts the DSSE spec vector (raw r||s ECDSA) with the key from its coordinates', () => {
  const key = loadTrustedKey(dsseVectorKeys().publicKeyPem, 'vector');
  const result = verifyEnvelopeSignatures(envelopeFromJSON(DSSE_VECTOR.envelope), [key]);
  assert.equal(result.validKeyids, [DSSE_VECTOR.sshFingerprint]);
  assert.is(result.checked, 1);
  assert.is(result.payload.toString('utf8'), 'hello world');
});

verifySuite('rejects the spec vector when its payload type is changed', () => {
  const key = loadTrustedKey(dsseVectorKeys().publicKeyPem, 'vector');
  const envelope = { ...envelopeFromJSON(DSSE_VECTOR.envelope), payloadType: 'http://example.com/HelloWorlds' };
  assert.equal(verifyEnvelopeSignatures(envelope, [key]).validKeyids, []);
});

for (const algorithm of ['ed25519', 'ecdsa-p256'] as KeyAlgorithm[]) {
  verifySuite(`${algorithm}: a signed envelope verifies with its public key`, () => {
    const pair = generateKeyPair(algorithm);
    const signer = createSigner(pair.privateKeyPem);
    const envelope = signEnvelope(Buffer.from('{"a":1}'), PAYLOAD_TYPE_INTOTO, [signer]);
    const result = verifyEnvelopeSignatures(envelope, [loadTrustedKey(pair.publicKeyPem, 'k.pub')]);
    assert.equal(result.validKeyids, [signer.keyid]);
    assert.is(result.payload.toString(), '{"a":1}');
  });

  verifySuite(`${algorithm}: another key finds no valid signature`, () => {
    const signer = createSigner(generateKeyPair(algorithm).privateKeyPem);
    const other = loadTrustedKey(generateKeyPair(algorithm).publicKeyPem, 'other.pub');
    const envelope = signEnvelope(Buffer.from('x'), PAYLOAD_TYPE_INTOTO, [signer]);
    assert.equal(verifyEnvelopeSignatures(envelope, [other]).validKeyids, []);
  });

  verifySuite(`${algorithm}: a changed payload no longer verifies`, () => {
    const pair = generateKeyPair(algorithm);
    const envelope = signEnvelope(Buffer.from('{"a":1}'), PAYLOAD_TYPE_INTOTO, [createSigner(pair.privateKeyPem)]);
    const tampered = { ...envelope, payload: Buffer.from('{"a":2}').toString('base64') };
    assert.equal(verifyEnvelopeSignatures(tampered, [loadTrustedKey(pair.publicKeyPem, 'k')]).validKeyids, []);
  });

  verifySuite(`${algorithm}: URL-safe unpadded payload and sig verify like the standard ones`, () => {
    const pair = generateKeyPair(algorithm);
    // Bytes chosen so that the standard encoding has '+', '/' and padding.
    const payload = Buffer.from([0xfb, 0xff, 0xbf, 0xfe, 0x3e]);
    const envelope = signEnvelope(payload, PAYLOAD_TYPE_INTOTO, [createSigner(pair.privateKeyPem)]);
    assert.match(envelope.payload, /[+/=]/);
    const urlSafe = { ...envelope, payload: toUrlSafe(envelope.payload), signatures: envelope.signatures.map((s) => ({ ...s, sig: toUrlSafe(s.sig) })) };
    const parsed = envelopeFromJSON(JSON.stringify(urlSafe));
    const result = verifyEnvelopeSignatures(parsed, [loadTrustedKey(pair.publicKeyPem, 'k')]);
    assert.is(result.validKeyids.length, 1);
    assert.equal([...result.payload], [...payload]);
  });
}

verifySuite('reports each trusted key that signed, once, and counts every signature', () => {
  const a = generateKeyPair('ed25519');
  const b = generateKeyPair('ecdsa-p256');
  const c = generateKeyPair('ed25519');
  const sa = createSigner(a.privateKeyPem);
  const sb = createSigner(b.privateKeyPem);
  const envelope = signEnvelope(Buffer.from('m'), PAYLOAD_TYPE_INTOTO, [sa, sb, sa]);
  const keys = [a, b, c].map((p, i) => loadTrustedKey(p.publicKeyPem, `k${i}`));
  const result = verifyEnvelopeSignatures(envelope, keys);
  assert.equal(result.validKeyids.sort(), [sa.keyid, sb.keyid].sort());
  assert.is(result.checked, 3);
  assert.equal(result.verifiedBy, [sa.keyid, sb.keyid, sa.keyid], 'each signature is attributed to the key that made it');
});

verifySuite('attributes a signature by what verifies it, not by its keyid (cosign writes none)', () => {
  const pair = generateKeyPair('ecdsa-p256');
  const envelope = signEnvelope(Buffer.from('m'), PAYLOAD_TYPE_INTOTO, [createSigner(pair.privateKeyPem)]);
  const unlabelled = { ...envelope, signatures: [{ keyid: '', sig: envelope.signatures[0]!.sig }, { keyid: '', sig: Buffer.alloc(64, 1).toString('base64') }] };
  const key = loadTrustedKey(pair.publicKeyPem, 'k');
  assert.equal(verifyEnvelopeSignatures(unlabelled, [key]).verifiedBy, [key.keyid, undefined]);
});

verifySuite('does not trust the keyid: a signature under a foreign keyid still verifies, a forged keyid does not help', () => {
  const pair = generateKeyPair('ed25519');
  const signer = createSigner(pair.privateKeyPem);
  const envelope = signEnvelope(Buffer.from('m'), PAYLOAD_TYPE_INTOTO, [signer]);
  const relabelled = { ...envelope, signatures: [{ keyid: 'some-other-format', sig: envelope.signatures[0]!.sig }] };
  assert.equal(verifyEnvelopeSignatures(relabelled, [loadTrustedKey(pair.publicKeyPem, 'k')]).validKeyids, [signer.keyid]);
  const other = loadTrustedKey(generateKeyPair('ed25519').publicKeyPem, 'other');
  const forged = { ...envelope, signatures: [{ keyid: other.keyid, sig: envelope.signatures[0]!.sig }] };
  assert.equal(verifyEnvelopeSignatures(forged, [other]).validKeyids, []);
});

const signSuite = suite('signEnvelope');

signSuite('writes standard base64 with padding and the OpenSSH fingerprint as keyid', () => {
  const signer = createSigner(generateKeyPair('ed25519').privateKeyPem);
  const envelope = signEnvelope(Buffer.from('ab'), PAYLOAD_TYPE_INTOTO, [signer]);
  assert.is(envelope.payload, 'YWI=');
  assert.is(envelope.payloadType, PAYLOAD_TYPE_INTOTO);
  assert.match(envelope.signatures[0]!.sig, /^[A-Za-z0-9+/]+={0,2}$/);
  assert.is(envelope.signatures[0]!.sig.length % 4, 0);
  assert.match(envelope.signatures[0]!.keyid, /^SHA256:[A-Za-z0-9+/]{43}$/);
});

signSuite('the DSSE vector key signs envelopes that verify (DER ECDSA)', () => {
  const { privateKeyPem, publicKeyPem } = dsseVectorKeys();
  const signer = createSigner(privateKeyPem);
  assert.is(signer.keyid, DSSE_VECTOR.sshFingerprint);
  const envelope = signEnvelope(Buffer.from(DSSE_VECTOR.body), DSSE_VECTOR.payloadType, [signer]);
  // DER: a SEQUENCE (0x30), not the 64 raw bytes of the vector.
  assert.is(Buffer.from(envelope.signatures[0]!.sig, 'base64')[0], 0x30);
  assert.is(verifyEnvelopeSignatures(envelope, [loadTrustedKey(publicKeyPem, 'v')]).validKeyids.length, 1);
});

const fromJSON = suite('envelopeFromJSON');

fromJSON('reads the spec vector and treats the absent keyid as empty', () => {
  const envelope = envelopeFromJSON(DSSE_VECTOR.envelope);
  assert.is(envelope.payloadType, DSSE_VECTOR.payloadType);
  assert.is(envelope.signatures[0]!.keyid, '');
});

fromJSON('ignores unknown fields', () => {
  const envelope = envelopeFromJSON('{"payload":"YQ==","payloadType":"t","signatures":[{"sig":"YQ==","extra":1}],"x":2}');
  assert.equal(envelope, { payload: 'YQ==', payloadType: 't', signatures: [{ keyid: '', sig: 'YQ==' }] });
});

for (const [name, text] of [
  ['text that is not JSON', '{"payload":'],
  ['a JSON array', '[]'],
  ['a missing payload', '{"payloadType":"t","signatures":[{"sig":"YQ=="}]}'],
  ['a missing payloadType', '{"payload":"YQ==","signatures":[{"sig":"YQ=="}]}'],
  ['no signatures', '{"payload":"YQ==","payloadType":"t","signatures":[]}'],
  ['a signature without sig', '{"payload":"YQ==","payloadType":"t","signatures":[{"keyid":"k"}]}'],
  ['a non-string keyid', '{"payload":"YQ==","payloadType":"t","signatures":[{"sig":"YQ==","keyid":5}]}'],
  ['a payload that is not base64', '{"payload":"a b!","payloadType":"t","signatures":[{"sig":"YQ=="}]}'],
  ['a payload with a bad length', '{"payload":"YWJjZ","payloadType":"t","signatures":[{"sig":"YQ=="}]}'],
  ['a sig that is not base64', '{"payload":"YQ==","payloadType":"t","signatures":[{"sig":"*"}]}'],
] as const) {
  fromJSON(`rejects ${name}`, () => {
    throwsWithCode(() => envelopeFromJSON(text, 'x.intoto.jsonl'), 'KILN_ATTEST_BAD_ENVELOPE');
  });
}

const toJSON = suite('envelopeToJSON');

toJSON('is one line without a trailing newline and reads back equal', () => {
  const envelope = signEnvelope(Buffer.from('{\n"a": 1\n}'), PAYLOAD_TYPE_INTOTO, [createSigner(generateKeyPair().privateKeyPem)]);
  const text = envelopeToJSON(envelope);
  assert.not.match(text, /\n/);
  assert.equal(envelopeFromJSON(text), envelope);
});

const decode = suite('decodePayload');

decode('decodes standard and URL-safe forms to the same bytes', () => {
  const bytes = Buffer.from([0xfb, 0xff, 0xbf]);
  assert.equal([...decodePayload({ payload: '+/+/', payloadType: 't', signatures: [] })], [...bytes]);
  assert.equal([...decodePayload({ payload: '-_-_', payloadType: 't', signatures: [] })], [...bytes]);
});

decode('rejects a payload that is not base64', () => {
  throwsWithCode(() => decodePayload({ payload: '%%', payloadType: 't', signatures: [] }), 'KILN_ATTEST_BAD_ENVELOPE');
});

paeSuite.run();
verifySuite.run();
signSuite.run();
fromJSON.run();
toJSON.run();
decode.run();
