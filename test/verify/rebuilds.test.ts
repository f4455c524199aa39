import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createSigner, envelopeToJSON, generateKeyPair, loadTrustedKey, PAYLOAD_TYPE_INTOTO, signEnvelope } from '../../src/attest/index.js';
import { buildVsa } from '../../src/rebuild/index.js';
import { parseAttestationFile, verifyRebuilds, type HashedArtifact } from '../../src/verify/index.js';

const artifact: HashedArtifact = { name: 'a.tar.gz', path: '/x/a.tar.gz', size: 3, digests: { sha256: 'a'.repeat(64), sha512: 'b'.repeat(128) } } as HashedArtifact;

function rebuilder(id: string) {
  const pair = generateKeyPair('ed25519');
  return { id, signer: createSigner(pair.privateKeyPem), key: loadTrustedKey(pair.publicKeyPem, `${id}.pub`) };
}

function vsaFile(r: ReturnType<typeof rebuilder>, file: string, options: { passed?: boolean; sha256?: string; id?: string } = {}) {
  const statement = buildVsa({
    subjects: [{ name: 'a.tar.gz', digest: { sha256: options.sha256 ?? artifact.digests.sha256, sha512: artifact.digests.sha512 } }],
    verifierId: options.id ?? r.id,
    kilnVersion: '0.0.0',
    resourceUri: 'pkg:generic/a',
    provenance: { uri: 'a.intoto.jsonl', sha256: 'c'.repeat(64) },
    reproduced: options.passed ?? true,
    timeVerified: '2026-01-01T00:00:00Z',
  });
  const envelope = signEnvelope(Buffer.from(JSON.stringify(statement)), PAYLOAD_TYPE_INTOTO, [r.signer]);
  return parseAttestationFile(envelopeToJSON(envelope) + '\n', file);
}

const rebuilds = suite('verifyRebuilds');
const alice = rebuilder('https://alice.example.org/rebuilder');
const bob = rebuilder('https://bob.example.org/rebuilder');
const mallory = rebuilder('https://mallory.example.org/rebuilder');
const keys = [alice.key, bob.key];
const verdict = (checks: ReturnType<typeof verifyRebuilds>) => checks.find((c) => c.name === 'rebuilds')!;

rebuilds('two PASSED verdicts from distinct trusted rebuilders meet a minimum of 2', () => {
  const checks = verifyRebuilds({ artifacts: [artifact], vsas: [vsaFile(alice, 'a.vsa'), vsaFile(bob, 'b.vsa')], rebuilderKeys: keys, minimum: 2 });
  assert.is(verdict(checks).passed, true);
});

rebuilds('one rebuilder’s two verdicts count once', () => {
  const checks = verifyRebuilds({ artifacts: [artifact], vsas: [vsaFile(alice, 'a1.vsa'), vsaFile(alice, 'a2.vsa')], rebuilderKeys: keys, minimum: 2 });
  assert.is(verdict(checks).passed, false);
  assert.match(verdict(checks).reason, /^1 distinct/);
});

rebuilds('a second key claiming the same verifier id counts once', () => {
  const checks = verifyRebuilds({ artifacts: [artifact], vsas: [vsaFile(alice, 'a.vsa'), vsaFile(bob, 'b.vsa', { id: alice.id })], rebuilderKeys: keys, minimum: 2 });
  assert.is(verdict(checks).passed, false);
});

rebuilds('FAILED verdicts, untrusted keys and other artifacts do not count, each with its reason', () => {
  const checks = verifyRebuilds({
    artifacts: [artifact],
    vsas: [vsaFile(alice, 'failed.vsa', { passed: false }), vsaFile(mallory, 'mallory.vsa'), vsaFile(bob, 'other.vsa', { sha256: 'f'.repeat(64) })],
    rebuilderKeys: keys,
    minimum: 1,
  });
  assert.is(verdict(checks).passed, false);
  const reasons = Object.fromEntries(checks.map((c) => [c.name, c.reason]));
  assert.match(reasons['rebuild:failed.vsa']!, /FAILED/);
  assert.match(reasons['rebuild:mallory.vsa']!, /not signed by a trusted rebuilder/);
  assert.match(reasons['rebuild:other.vsa']!, /does not name a\.tar\.gz/);
});

rebuilds('a policy’s list of rebuilders excludes others', () => {
  const checks = verifyRebuilds({ artifacts: [artifact], vsas: [vsaFile(alice, 'a.vsa'), vsaFile(bob, 'b.vsa')], rebuilderKeys: keys, minimum: 2, rebuilders: [bob.id] });
  assert.is(verdict(checks).passed, false);
});

rebuilds.run();
