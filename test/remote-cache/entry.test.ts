import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createSigner, envelopeFromJSON, envelopeToJSON, generateKeyPair, loadTrustedKey, signEnvelope } from '../../src/attest/index.js';
import { PAYLOAD_TYPE_INTOTO } from '../../src/attest/types.js';
import { admitCacheEntry, cacheEntryStatement, signCacheEntry, type CacheEntryClaim } from '../../src/remote-cache/index.js';
import { canonicalJSON } from '../../src/util/canonical-json.js';
import { sha256Digest } from '../../src/util/digest.js';
import { throwsWithCode } from '../helpers/index.js';

const writerPair = generateKeyPair();
const writer = createSigner(writerPair.privateKeyPem);
const writerKey = loadTrustedKey(writerPair.publicKeyPem, 'writer.pub');
const strangerPair = generateKeyPair('ecdsa-p256');
const stranger = createSigner(strangerPair.privateKeyPem);

const claim: CacheEntryClaim = { actionKey: sha256Digest('material'), outputTree: sha256Digest('tree'), log: sha256Digest('log') };
const trusting = { keys: [writerKey], trustServer: false };

const admit = suite('admitCacheEntry');

admit('accepts an entry signed by a trusted key, naming that key', () => {
  const got = admitCacheEntry(signCacheEntry(claim, writer), claim, trusting);
  assert.equal(got, { admittedBy: 'signature', keyid: writer.keyid });
});

admit('refuses an unsigned entry unless the server is trusted', () => {
  throwsWithCode(() => admitCacheEntry(undefined, claim, trusting), 'KILN_CACHE_UNSIGNED');
  assert.equal(admitCacheEntry(undefined, claim, { keys: [], trustServer: true }), { admittedBy: 'trusted-server' });
});

admit('refuses an entry signed by a key nobody trusts, unless the server is trusted', () => {
  const envelope = signCacheEntry(claim, stranger);
  throwsWithCode(() => admitCacheEntry(envelope, claim, trusting), 'KILN_CACHE_UNTRUSTED');
  throwsWithCode(() => admitCacheEntry(envelope, claim, { keys: [], trustServer: false }), 'KILN_CACHE_UNTRUSTED');
  assert.equal(admitCacheEntry(envelope, claim, { keys: [writerKey], trustServer: true }), { admittedBy: 'trusted-server' });
});

admit('refuses a trusted signature over another action key, tree or log, even from a trusted server', () => {
  for (const field of ['actionKey', 'outputTree', 'log'] as const) {
    const other = { ...claim, [field]: sha256Digest(`other ${field}`) };
    const envelope = signCacheEntry(other, writer);
    const err = throwsWithCode<{ expected: string; found: string }>(() => admitCacheEntry(envelope, claim, trusting), 'KILN_CACHE_MISMATCH');
    assert.is(err.expected, other[field]);
    assert.is(err.found, claim[field]);
    throwsWithCode(() => admitCacheEntry(envelope, claim, { keys: [writerKey], trustServer: true }), 'KILN_CACHE_MISMATCH');
  }
});

admit('refuses a signature whose payload was changed after signing', () => {
  const envelope = envelopeFromJSON(signCacheEntry(claim, writer).toString());
  const forged = { ...envelope, payload: Buffer.from(canonicalJSON(cacheEntryStatement({ ...claim, outputTree: sha256Digest('evil') }))).toString('base64') };
  // The payload now claims another tree: the statement is checked against the entry first…
  throwsWithCode(() => admitCacheEntry(Buffer.from(envelopeToJSON(forged)), claim, trusting), 'KILN_CACHE_MISMATCH');
  // …and a payload that claims the right things but was not what the key signed verifies with no key.
  const resigned = { ...envelope, payload: Buffer.from(canonicalJSON(cacheEntryStatement(claim)) + ' ').toString('base64') };
  throwsWithCode(() => admitCacheEntry(Buffer.from(envelopeToJSON(resigned)), claim, trusting), 'KILN_CACHE_UNTRUSTED');
});

admit('refuses envelopes that are not a kiln cache entry statement', () => {
  throwsWithCode(() => admitCacheEntry(Buffer.from('not json'), claim, trusting), 'KILN_CACHE_BAD_ENTRY');
  const otherType = signEnvelope(Buffer.from(canonicalJSON(cacheEntryStatement(claim))), 'application/json', [writer]);
  throwsWithCode(() => admitCacheEntry(Buffer.from(envelopeToJSON(otherType)), claim, trusting), 'KILN_CACHE_BAD_ENTRY');
  const provenance = { ...cacheEntryStatement(claim), predicateType: 'https://slsa.dev/provenance/v1' };
  const wrongPredicate = signEnvelope(Buffer.from(canonicalJSON(provenance)), PAYLOAD_TYPE_INTOTO, [writer]);
  throwsWithCode(() => admitCacheEntry(Buffer.from(envelopeToJSON(wrongPredicate)), claim, trusting), 'KILN_CACHE_BAD_ENTRY');
});

admit.run();
