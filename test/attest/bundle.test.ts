import { assertBundleLatest, bundleFromJSON, isBundleWithDsseEnvelope, isBundleWithPublicKey } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { createPublicKey } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  createSigner,
  generateKeyPair,
  PAYLOAD_TYPE_INTOTO,
  signEnvelope,
  toSigstoreBundle,
  SIGSTORE_BUNDLE_V03_MEDIA_TYPE,
  type KeyAlgorithm,
} from '../../src/attest/index.js';
import { throwsWithCode } from '../helpers/index.js';
import { toUrlSafe } from './support.js';

function signed(algorithm: KeyAlgorithm = 'ed25519') {
  const pair = generateKeyPair(algorithm);
  const signer = createSigner(pair.privateKeyPem);
  const envelope = signEnvelope(Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}'), PAYLOAD_TYPE_INTOTO, [signer]);
  return { pair, signer, envelope };
}

/** sigstore-js's verifier, with the one key as trust material and no logs or timestamps required. */
function sigstoreVerify(bundleJson: unknown, publicKeyPem: string, hint: string): void {
  const bundle = bundleFromJSON(bundleJson);
  const trust = toTrustMaterial(
    { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] },
    (h: string) => {
      if (h !== hint) throw new Error(`unknown key ${h}`);
      return { publicKey: createPublicKey(publicKeyPem), validFor: () => true };
    },
  );
  new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle));
}

const toBundle = suite('toSigstoreBundle');

toBundle('is a v0.3 bundle @sigstore/bundle parses, with the key hint and the DSSE envelope', () => {
  const { signer, envelope } = signed();
  const json = JSON.parse(JSON.stringify(toSigstoreBundle(envelope, signer)));
  const bundle = bundleFromJSON(json);
  assertBundleLatest(bundle);
  assert.is(bundle.mediaType, SIGSTORE_BUNDLE_V03_MEDIA_TYPE);
  assert.ok(isBundleWithPublicKey(bundle));
  assert.ok(isBundleWithDsseEnvelope(bundle));
  assert.is(json.verificationMaterial.publicKey.hint, signer.keyid);
  assert.is(json.dsseEnvelope.signatures[0].keyid, signer.keyid);
  assert.is(json.dsseEnvelope.payload, envelope.payload);
});

for (const algorithm of ['ed25519', 'ecdsa-p256'] as KeyAlgorithm[]) {
  toBundle(`${algorithm}: verifies with sigstore-js's Verifier and the public key`, () => {
    const { pair, signer, envelope } = signed(algorithm);
    sigstoreVerify(JSON.parse(JSON.stringify(toSigstoreBundle(envelope, signer))), pair.publicKeyPem, signer.keyid);
  });

  toBundle(`${algorithm}: sigstore-js refuses it under another key (the check can fail)`, () => {
    const { signer, envelope } = signed(algorithm);
    const other = generateKeyPair(algorithm);
    assert.throws(() => sigstoreVerify(JSON.parse(JSON.stringify(toSigstoreBundle(envelope, signer))), other.publicKeyPem, signer.keyid));
  });
}

toBundle('re-encodes URL-safe base64 to the standard form protojson uses', () => {
  const { pair, signer, envelope } = signed();
  const urlSafe = { ...envelope, payload: toUrlSafe(envelope.payload), signatures: envelope.signatures.map((s) => ({ ...s, sig: toUrlSafe(s.sig) })) };
  const bundle = toSigstoreBundle(urlSafe, signer);
  assert.is(bundle.dsseEnvelope.payload, envelope.payload);
  assert.is(bundle.dsseEnvelope.signatures[0]!.sig, envelope.signatures[0]!.sig);
  sigstoreVerify(JSON.parse(JSON.stringify(bundle)), pair.publicKeyPem, signer.keyid);
});

toBundle('refuses an envelope with more or fewer than one signature', () => {
  const { signer, envelope } = signed();
  throwsWithCode(() => toSigstoreBundle({ ...envelope, signatures: [...envelope.signatures, ...envelope.signatures] }, signer), 'KILN_ATTEST_BAD_BUNDLE');
  throwsWithCode(() => toSigstoreBundle({ ...envelope, signatures: [] }, signer), 'KILN_ATTEST_BAD_BUNDLE');
});

toBundle('refuses an envelope signed under another keyid', () => {
  const { envelope } = signed();
  throwsWithCode(() => toSigstoreBundle(envelope, { keyid: 'SHA256:other' }), 'KILN_ATTEST_BAD_BUNDLE');
});

toBundle.run();
