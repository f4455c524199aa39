import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createSigner, envelopeToJSON, generateKeyPair, loadTrustedKey, PAYLOAD_TYPE_INTOTO, signEnvelope } from '../../src/attest/index.js';
import { buildVsa } from '../../src/rebuild/index.js';
import { CLOCK_SKEW_MS, parseAttestationFile, rebuiltProvenance, timeVerifiedProblem, verifyRebuilds, type HashedArtifact, type RebuildsInput } from '../../src/verify/index.js';

const artifact: HashedArtifact = { name: 'a.tar.gz', path: '/x/a.tar.gz', size: 3, digests: { sha256: 'a'.repeat(64), sha512: 'b'.repeat(128) } } as HashedArtifact;
const PROVENANCE_SHA = 'c'.repeat(64);
const RESOURCE = 'pkg:generic/a@1.0';
const provenance = { sha256: PROVENANCE_SHA, resourceUri: RESOURCE, finishedOn: '2026-01-01T00:00:00Z' };
const NOW = new Date('2026-01-02T00:00:00Z');

function rebuilder(id: string) {
  const pair = generateKeyPair('ed25519');
  return { id, signer: createSigner(pair.privateKeyPem), key: loadTrustedKey(pair.publicKeyPem, `${id}.pub`) };
}

interface VsaEdits {
  passed?: boolean;
  sha256?: string;
  id?: string;
  provenanceSha?: string;
  resourceUri?: string;
  timeVerified?: string;
  edit?: (statement: any) => void;
}

function vsaFile(r: ReturnType<typeof rebuilder>, file: string, options: VsaEdits = {}) {
  const statement = buildVsa({
    subjects: [{ name: 'a.tar.gz', digest: { sha256: options.sha256 ?? artifact.digests.sha256, sha512: artifact.digests.sha512 } }],
    verifierId: options.id ?? r.id,
    kilnVersion: '0.0.0',
    resourceUri: options.resourceUri ?? RESOURCE,
    provenance: { uri: 'a.intoto.jsonl', sha256: options.provenanceSha ?? PROVENANCE_SHA },
    reproduced: options.passed ?? true,
    timeVerified: options.timeVerified ?? '2026-01-01T12:00:00Z',
  });
  options.edit?.(statement);
  const envelope = signEnvelope(Buffer.from(JSON.stringify(statement)), PAYLOAD_TYPE_INTOTO, [r.signer]);
  return parseAttestationFile(envelopeToJSON(envelope) + '\n', file);
}

const alice = rebuilder('https://alice.example.org/rebuilder');
const bob = rebuilder('https://bob.example.org/rebuilder');
const mallory = rebuilder('https://mallory.example.org/rebuilder');
const keys = [alice.key, bob.key];
const run = (input: Partial<RebuildsInput> & Pick<RebuildsInput, 'vsas'>) =>
  verifyRebuilds({ artifacts: [artifact], rebuilderKeys: keys, minimum: 1, provenance, now: NOW, ...input });
const verdict = (checks: ReturnType<typeof verifyRebuilds>) => checks.find((c) => c.name === 'rebuilds')!;
const reason = (checks: ReturnType<typeof verifyRebuilds>, file: string) => checks.find((c) => c.name === `rebuild:${file}`)!;

const rebuilds = suite('verifyRebuilds');

rebuilds('two PASSED verdicts from distinct trusted rebuilders meet a minimum of 2', () => {
  const checks = run({ vsas: [vsaFile(alice, 'a.vsa'), vsaFile(bob, 'b.vsa')], minimum: 2 });
  assert.is(verdict(checks).passed, true, JSON.stringify(checks));
});

rebuilds('one rebuilder’s two verdicts count once', () => {
  const checks = run({ vsas: [vsaFile(alice, 'a1.vsa'), vsaFile(alice, 'a2.vsa')], minimum: 2 });
  assert.is(verdict(checks).passed, false);
  assert.match(verdict(checks).reason, /^1 distinct/);
});

rebuilds('a second key claiming the same verifier id counts once', () => {
  const checks = run({ vsas: [vsaFile(alice, 'a.vsa'), vsaFile(bob, 'b.vsa', { id: alice.id })], minimum: 2 });
  assert.is(verdict(checks).passed, false);
});

rebuilds('FAILED verdicts, untrusted keys and other artifacts do not count, each with its reason', () => {
  const checks = run({ vsas: [vsaFile(alice, 'failed.vsa', { passed: false }), vsaFile(mallory, 'mallory.vsa'), vsaFile(bob, 'other.vsa', { sha256: 'f'.repeat(64) })] });
  assert.is(verdict(checks).passed, false);
  assert.match(reason(checks, 'failed.vsa').reason, /FAILED/);
  assert.match(reason(checks, 'mallory.vsa').reason, /not signed by a trusted rebuilder/);
  assert.match(reason(checks, 'other.vsa').reason, /does not name a\.tar\.gz/);
});

rebuilds('a policy’s list of rebuilders excludes others', () => {
  const checks = run({ vsas: [vsaFile(alice, 'a.vsa'), vsaFile(bob, 'b.vsa')], minimum: 2, rebuilders: [bob.id] });
  assert.is(verdict(checks).passed, false);
  assert.match(reason(checks, 'a.vsa').reason, /not one the policy lists/);
});

rebuilds('a (verifier id, key) pair: only that key may sign for that id', () => {
  const pairs = [{ id: alice.id, key: alice.key.keyid }, bob.id];
  const checks = run({ vsas: [vsaFile(alice, 'alice.vsa'), vsaFile(bob, 'bob-as-alice.vsa', { id: alice.id })], rebuilders: pairs, minimum: 1 });
  assert.is(reason(checks, 'alice.vsa').passed, true, JSON.stringify(checks));
  assert.is(reason(checks, 'bob-as-alice.vsa').passed, false);
  assert.match(reason(checks, 'bob-as-alice.vsa').reason, /may only be signed for by SHA256:/);
});

const procedure = suite('verifyRebuilds: the SLSA VSA procedure, step by step');

procedure('a verdict made from ANOTHER provenance of the same bytes does not count', () => {
  const checks = run({ vsas: [vsaFile(alice, 'other-provenance.vsa', { provenanceSha: 'd'.repeat(64) })] });
  assert.is(verdict(checks).passed, false);
  assert.match(reason(checks, 'other-provenance.vsa').reason, /another provenance/);
});

procedure('a verdict with no inputAttestations does not count', () => {
  const checks = run({ vsas: [vsaFile(alice, 'none.vsa', { edit: (s) => delete s.predicate.inputAttestations })] });
  assert.is(verdict(checks).passed, false);
  assert.match(reason(checks, 'none.vsa').reason, /another provenance/);
});

procedure('a verdict for another package (resourceUri) does not count', () => {
  const checks = run({ vsas: [vsaFile(alice, 'bar.vsa', { resourceUri: 'pkg:generic/bar@1.0' })] });
  assert.match(reason(checks, 'bar.vsa').reason, /resourceUri is pkg:generic\/bar@1\.0, expected pkg:generic\/a@1\.0/);
});

procedure('no expected resourceUri: nothing counts, and the reason says how to give one', () => {
  const checks = run({ vsas: [vsaFile(alice, 'a.vsa')], provenance: { sha256: PROVENANCE_SHA } });
  assert.is(verdict(checks).passed, false);
  assert.match(reason(checks, 'a.vsa').reason, /--resource-uri/);
});

procedure('another policy, a PASSED without kiln’s verified level, or FAILED among the levels does not count', () => {
  const checks = run({
    vsas: [
      vsaFile(alice, 'policy.vsa', { edit: (s) => (s.predicate.policy.uri = 'https://example.org/anything-goes') }),
      vsaFile(alice, 'levels.vsa', { edit: (s) => (s.predicate.verifiedLevels = ['SLSA_BUILD_LEVEL_3']) }),
      vsaFile(alice, 'mixed.vsa', { edit: (s) => s.predicate.verifiedLevels.push('FAILED') }),
    ],
  });
  assert.match(reason(checks, 'policy.vsa').reason, /not kiln's rebuild policy/);
  assert.match(reason(checks, 'levels.vsa').reason, /verifiedLevels/);
  assert.match(reason(checks, 'mixed.vsa').reason, /verifiedLevels/);
  assert.is(verdict(checks).passed, false);
});

procedure('timeVerified missing, malformed, in the future, or before the original build: not counted', () => {
  const checks = run({
    vsas: [
      vsaFile(alice, 'missing.vsa', { edit: (s) => delete s.predicate.timeVerified }),
      vsaFile(alice, 'garbage.vsa', { timeVerified: 'yesterday' }),
      vsaFile(alice, 'future.vsa', { timeVerified: '2027-01-01T00:00:00Z' }),
      vsaFile(alice, 'early.vsa', { timeVerified: '2025-12-31T00:00:00Z' }),
    ],
  });
  assert.match(reason(checks, 'missing.vsa').reason, /timeVerified is missing/);
  assert.match(reason(checks, 'garbage.vsa').reason, /not an RFC 3339/);
  assert.match(reason(checks, 'future.vsa').reason, /in the future/);
  assert.match(reason(checks, 'early.vsa').reason, /before the original build finished/);
  assert.is(verdict(checks).passed, false);
});

procedure('a VSA without a verifier id is not a VSA', () => {
  const checks = run({ vsas: [vsaFile(alice, 'anon.vsa', { edit: (s) => delete s.predicate.verifier.id })] });
  assert.match(reason(checks, 'anon.vsa').reason, /not a SLSA VSA v1: VSA: verifier\.id/);
});

const time = suite('timeVerifiedProblem');

time('accepts a time within the clock skew either side, refuses past it', () => {
  const built = '2026-01-01T00:00:00Z';
  const now = new Date('2026-01-01T01:00:00Z');
  assert.is(timeVerifiedProblem('2026-01-01T01:05:00Z', built, now), undefined);
  assert.is(timeVerifiedProblem(new Date(now.getTime() + CLOCK_SKEW_MS + 1000).toISOString(), built, now)?.includes('future'), true);
  assert.is(timeVerifiedProblem('2025-12-31T23:55:00Z', built, now), undefined);
  assert.is(timeVerifiedProblem('2025-12-31T23:49:00Z', built, now)?.includes('before'), true);
  assert.is(timeVerifiedProblem('2026-01-01T00:30:00+01:00', built, now)?.includes('before'), true, 'the zone counts');
});

const derive = suite('rebuiltProvenance');

derive('takes resourceUri from the kiln recipe the provenance embeds, unless one is given', () => {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: { buildDefinition: { externalParameters: { recipe: { content: 'kiln: 1\nname: hello\nversion: "2.12"\n' } } }, runDetails: { metadata: { finishedOn: '2026-01-01T00:00:00Z' } } },
  } as any;
  assert.equal(rebuiltProvenance('e'.repeat(64), statement), { sha256: 'e'.repeat(64), resourceUri: 'pkg:generic/hello@2.12', finishedOn: '2026-01-01T00:00:00Z' });
  assert.is(rebuiltProvenance('e'.repeat(64), statement, 'pkg:npm/x@1').resourceUri, 'pkg:npm/x@1');
  assert.is(rebuiltProvenance('e'.repeat(64), undefined).resourceUri, undefined, 'an unverified provenance implies nothing');
});

rebuilds.run();
procedure.run();
time.run();
derive.run();
