import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PREDICATE_CYCLONEDX, type DsseEnvelope } from '../../src/attest/index.js';
import {
  isPinned,
  parseAttestationFile,
  parsePolicy,
  SIGNATURE_NOT_CHECKED,
  subjectMatches,
  verifyProvenance,
  verifyProvenanceAttestation,
  type Attestation,
  type VerifyReport,
} from '../../src/verify/index.js';
import { throwsWithCode } from '../helpers/index.js';
import { artifactOf, BUILDER_ID, dependency, jsonl, makeKey, makeProvenance, sign, statementPayload } from './provenance-helpers.js';

const trustedKey = makeKey('release');
const otherKey = makeKey('mallory');
const artifact = artifactOf('hello.tar', 'hello, world\n');

function dsse(...envelopes: DsseEnvelope[]): Attestation {
  return parseAttestationFile(jsonl(...envelopes), 'hello.intoto.jsonl');
}

function verify(envelope: DsseEnvelope, extra: Partial<Parameters<typeof verifyProvenance>[0]> = {}): VerifyReport {
  return verifyProvenance({ artifacts: [artifact], attestation: dsse(envelope), keys: [trustedKey.trusted], builderId: BUILDER_ID, ...extra });
}

/** The report failed, and the first failing check is `name`. */
function failsAt(report: VerifyReport, name: string): void {
  assert.is(report.passed, false);
  const failed = report.checks.filter((c) => !c.passed);
  assert.ok(failed.length > 0, 'some check failed');
  assert.is(failed[0]!.name, name, `first failed check: ${JSON.stringify(failed[0])}`);
  assert.ok(failed[0]!.reason.length > 0, 'the failure has a reason');
}

/** Re-encodes an envelope's payload after `edit` changed its bytes (the signature is kept). */
function withPayload(envelope: DsseEnvelope, edit: (bytes: Buffer) => Buffer): DsseEnvelope {
  return { ...envelope, payload: edit(Buffer.from(envelope.payload, 'base64')).toString('base64') };
}

const good = () => sign(makeProvenance([artifact]), [trustedKey.signer]);

const verifyProvenanceSuite = suite('verifyProvenance');

verifyProvenanceSuite('passes provenance signed by a trusted key whose subject is the artifact', () => {
  const report = verify(good());
  assert.is(report.passed, true, JSON.stringify(report.checks));
  assert.equal(
    report.checks.map((c) => c.name),
    ['signature', 'payloadType', 'statement-type', 'predicate-type', 'subject-names', 'subject:hello.tar', 'builder-id', 'build-type', 'dependencies-pinned'],
  );
  assert.equal(report.signer, { kind: 'key', keyids: [trustedKey.trusted.keyid], keys: ['release.pub'] });
  assert.is(report.statement?.subject[0]?.name, 'hello.tar');
});

verifyProvenanceSuite('passes with an ECDSA P-256 key as well', () => {
  const p256 = makeKey('p256', 'ecdsa-p256');
  const report = verify(sign(makeProvenance([artifact]), [p256.signer]), { keys: [p256.trusted] });
  assert.is(report.passed, true);
});

verifyProvenanceSuite('rejects a payload with one byte changed (signature)', () => {
  const tampered = withPayload(good(), (bytes) => {
    const copy = Buffer.from(bytes);
    const at = copy.indexOf('hello.tar');
    copy[at] = 'j'.charCodeAt(0);
    return copy;
  });
  failsAt(verify(tampered), 'signature');
  assert.is(verify(tampered).checks.length, 1, 'nothing is read from unauthenticated bytes');
});

verifyProvenanceSuite('rejects a changed signature (signature)', () => {
  const envelope = good();
  const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
  sig[10] ^= 0x01;
  failsAt(verify({ ...envelope, signatures: [{ ...envelope.signatures[0]!, sig: sig.toString('base64') }] }), 'signature');
});

verifyProvenanceSuite('rejects a changed payloadType: the signature covers it (signature)', () => {
  failsAt(verify({ ...good(), payloadType: 'application/json' }), 'signature');
});

verifyProvenanceSuite('rejects a payloadType other than in-toto even when validly signed (payloadType)', () => {
  const report = verify(sign(makeProvenance([artifact]), [trustedKey.signer], 'application/json'));
  failsAt(report, 'payloadType');
  assert.ok(report.checks.find((c) => c.name === 'payloadType')!.reason.includes('application/json'));
});

verifyProvenanceSuite('rejects provenance signed only by an untrusted key (signature)', () => {
  const report = verify(sign(makeProvenance([artifact]), [otherKey.signer]));
  failsAt(report, 'signature');
  assert.ok(report.checks[0]!.reason.includes(otherKey.signer.keyid), 'names the untrusted signature');
});

verifyProvenanceSuite('rejects two signatures of which only the untrusted one is valid (signature)', () => {
  const envelope = sign(makeProvenance([artifact]), [trustedKey.signer, otherKey.signer]);
  const broken = Buffer.from(envelope.signatures[0]!.sig, 'base64');
  broken[5] ^= 0xff;
  const report = verify({ ...envelope, signatures: [{ ...envelope.signatures[0]!, sig: broken.toString('base64') }, envelope.signatures[1]!] });
  failsAt(report, 'signature');
});

verifyProvenanceSuite('passes two signatures when the trusted one is valid, naming the untrusted one', () => {
  const report = verify(sign(makeProvenance([artifact]), [otherKey.signer, trustedKey.signer]));
  assert.is(report.passed, true);
  assert.ok(report.checks[0]!.reason.includes(`keyid ${otherKey.signer.keyid}`), report.checks[0]!.reason);
  assert.equal(report.signer, { kind: 'key', keyids: [trustedKey.trusted.keyid], keys: ['release.pub'] });
});

verifyProvenanceSuite('rejects a subject digest that is not the artifact (subject:<artifact>)', () => {
  const other = artifactOf('hello.tar', 'something else\n');
  const report = verify(sign(makeProvenance([other]), [trustedKey.signer]));
  failsAt(report, 'subject:hello.tar');
  assert.ok(report.checks.find((c) => c.name === 'subject:hello.tar')!.reason.includes(artifact.digests.sha256));
});

verifyProvenanceSuite('rejects a subject whose sha256 matches but whose sha512 does not', () => {
  const statement = makeProvenance([artifact]);
  statement.subject[0]!.digest.sha512 = '0'.repeat(128);
  failsAt(verify(sign(statement, [trustedKey.signer])), 'subject:hello.tar');
});

verifyProvenanceSuite('checks every artifact against the subjects', () => {
  const second = artifactOf('hello.sbom', 'sbom');
  const report = verifyProvenance({ artifacts: [artifact, second], attestation: dsse(good()), keys: [trustedKey.trusted] });
  failsAt(report, 'subject:hello.sbom');
  assert.is(report.checks.find((c) => c.name === 'subject:hello.tar')?.passed, true);
});

verifyProvenanceSuite('rejects a predicateType other than SLSA provenance v1 (predicate-type)', () => {
  failsAt(verify(sign(makeProvenance([artifact], { predicateType: 'https://slsa.dev/provenance/v0.2' }), [trustedKey.signer])), 'predicate-type');
});

verifyProvenanceSuite('passes provenance v1 in an in-toto Statement v0.1 (cosign attest-blob writes that), and says so', () => {
  const statement = { ...makeProvenance([artifact]), _type: 'https://in-toto.io/Statement/v0.1' };
  const report = verify(sign(statement, [trustedKey.signer]));
  assert.is(report.passed, true, JSON.stringify(report.checks));
  assert.is(report.checks.find((c) => c.name === 'statement-type')!.reason, 'https://in-toto.io/Statement/v0.1');
});

verifyProvenanceSuite('rejects a statement of another _type (statement-type)', () => {
  const statement = { ...makeProvenance([artifact]), _type: 'https://in-toto.io/Statement/v2' };
  failsAt(verify(sign(statement, [trustedKey.signer])), 'statement-type');
});

verifyProvenanceSuite('does not report the trusted signature as ignored when its keyid is empty (cosign leaves it empty)', () => {
  const envelope = good();
  const unlabelled = { ...envelope, signatures: envelope.signatures.map((s) => ({ ...s, keyid: '' })) };
  const report = verify(unlabelled);
  assert.is(report.passed, true);
  assert.not.match(report.checks[0]!.reason, /ignored/);
  const withForeign = { ...envelope, signatures: [...unlabelled.signatures, { keyid: '', sig: Buffer.alloc(64, 7).toString('base64') }] };
  assert.match(verify(withForeign).checks[0]!.reason, /ignored, not by a trusted key: signature 2$/);
});

verifyProvenanceSuite('rejects a signed payload that is not a statement object (statement-type)', () => {
  failsAt(verify(sign('just a string', [trustedKey.signer])), 'statement-type');
});

verifyProvenanceSuite('rejects an unexpected builder id (builder-id)', () => {
  const report = verify(sign(makeProvenance([artifact], { builderId: 'https://evil.example/builder' }), [trustedKey.signer]));
  failsAt(report, 'builder-id');
  assert.ok(report.checks.find((c) => c.name === 'builder-id')!.reason.includes('https://evil.example/builder'));
});

verifyProvenanceSuite('reports the builder as unchecked when no --builder-id is given', () => {
  const report = verifyProvenance({ artifacts: [artifact], attestation: dsse(good()), keys: [trustedKey.trusted] });
  assert.is(report.passed, true);
  assert.match(report.checks.find((c) => c.name === 'builder-id')!.reason, /not checked/);
});

verifyProvenanceSuite('rejects an unknown buildType (build-type)', () => {
  failsAt(verify(sign(makeProvenance([artifact], { buildType: 'https://example.org/make/v1' }), [trustedKey.signer])), 'build-type');
});

verifyProvenanceSuite('rejects a resolved dependency without a pinning digest (dependencies-pinned)', () => {
  const dependencies = [dependency(1), { uri: 'https://example.org/floating.tar.gz' }, { uri: 'git+https://example.org/x', digest: { sha1: 'a'.repeat(40) } }];
  const report = verify(sign(makeProvenance([artifact], { dependencies }), [trustedKey.signer]));
  failsAt(report, 'dependencies-pinned');
  const reason = report.checks.find((c) => c.name === 'dependencies-pinned')!.reason;
  assert.ok(reason.includes('floating.tar.gz') && reason.includes('2 of 3'), reason);
});

verifyProvenanceSuite('a policy with one failing rule fails and names that rule', () => {
  const policy = parsePolicy(
    ['kiln: 1', 'rules:', '  - name: kiln-built', '    expr: predicate.buildDefinition.buildType.startsWith("https://kiln.")', '  - name: two-deps', '    expr: size(predicate.buildDefinition.resolvedDependencies) == 2', ''].join('\n'),
    'policy.yaml',
  );
  const report = verify(good(), { policy });
  failsAt(report, 'policy:two-deps');
  assert.is(report.checks.find((c) => c.name === 'policy:kiln-built')?.passed, true);
});

verifyProvenanceSuite('in a .intoto.jsonl, the provenance envelope passes beside an SBOM envelope', () => {
  const sbom = sign({ ...makeProvenance([artifact]), predicateType: PREDICATE_CYCLONEDX, predicate: { bomFormat: 'CycloneDX' } }, [trustedKey.signer]);
  const report = verifyProvenance({ artifacts: [artifact], attestation: dsse(sbom, good()), keys: [trustedKey.trusted], builderId: BUILDER_ID });
  assert.is(report.passed, true);
  assert.is(report.line, 2);
});

verifyProvenanceSuite('in a .intoto.jsonl where nothing passes, reports the envelope that got furthest', () => {
  const wrongBuilder = sign(makeProvenance([artifact], { builderId: 'https://other' }), [trustedKey.signer]);
  const untrusted = sign(makeProvenance([artifact]), [otherKey.signer]);
  const report = verifyProvenance({ artifacts: [artifact], attestation: dsse(untrusted, wrongBuilder), keys: [trustedKey.trusted], builderId: BUILDER_ID });
  failsAt(report, 'builder-id');
  assert.is(report.line, 2);
});

verifyProvenanceSuite('verifies a kiln key-based Sigstore bundle with --key', async () => {
  const { toSigstoreBundle } = await import('../../src/attest/index.js');
  const bundle = JSON.stringify(toSigstoreBundle(good(), trustedKey.signer));
  const attestation = parseAttestationFile(bundle, 'hello.sigstore.json');
  assert.is(attestation.kind, 'sigstore');
  assert.is(verifyProvenance({ artifacts: [artifact], attestation, keys: [trustedKey.trusted] }).passed, true);
  failsAt(verifyProvenance({ artifacts: [artifact], attestation, keys: [otherKey.trusted] }), 'signature');
});

verifyProvenanceSuite('throws KILN_VERIFY_NO_TRUST for an envelope and no key', () => {
  throwsWithCode(() => verifyProvenance({ artifacts: [artifact], attestation: dsse(good()), keys: [] }), 'KILN_VERIFY_NO_TRUST');
});

verifyProvenanceSuite('throws KILN_VERIFY_NO_ARTIFACT without an artifact', () => {
  throwsWithCode(() => verifyProvenance({ artifacts: [], attestation: dsse(good()), keys: [trustedKey.trusted] }), 'KILN_VERIFY_NO_ARTIFACT');
});

verifyProvenanceSuite('checks 1,000 resolved dependencies', () => {
  const dependencies = Array.from({ length: 1000 }, (_, i) => dependency(i));
  const report = verify(sign(makeProvenance([artifact], { dependencies }), [trustedKey.signer]));
  assert.is(report.passed, true);
  assert.match(report.checks.find((c) => c.name === 'dependencies-pinned')!.reason, /^1000 resolved/);
  assert.ok(statementPayload(report.statement).length > 100_000);
});

verifyProvenanceSuite('rejects a subject name listed twice, one of them with a digest nobody built (subject-names)', () => {
  const statement = makeProvenance([artifact]) as any;
  statement.subject.push({ name: 'hello.tar', digest: { sha256: 'f'.repeat(64) } });
  const report = verify(sign(statement, [trustedKey.signer]));
  failsAt(report, 'subject-names');
  assert.match(report.checks.find((c) => c.name === 'subject-names')!.reason, /repeated: "hello\.tar"/);
});

verifyProvenanceSuite('rejects a kiln subject name that is not a relative path (subject-names), naming it', () => {
  for (const name of ['../../etc/passwd', '/abs', 'a//b', 'a\\b']) {
    const statement = makeProvenance([artifact]) as any;
    statement.subject[0].name = name;
    const report = verify(sign(statement, [trustedKey.signer]));
    failsAt(report, 'subject-names');
    assert.ok(report.checks.find((c) => c.name === 'subject-names')!.reason.includes(JSON.stringify(name)), name);
  }
});

verifyProvenanceSuite('other builders’ subjects are names, not paths: a purl passes, repeated "_" is not a repeat', () => {
  const statement = makeProvenance([artifact], { buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1' }) as any;
  statement.subject[0].name = 'pkg:npm/@scope/hello@1.0.0';
  statement.subject.push({ name: '_', digest: { sha256: 'e'.repeat(64) } }, { name: '_', digest: { sha256: 'd'.repeat(64) } });
  const report = verify(sign(statement, [trustedKey.signer]));
  assert.is(report.checks.find((c) => c.name === 'subject-names')!.passed, true, JSON.stringify(report.checks));
});

const attestationSuite = suite('verifyProvenanceAttestation');

attestationSuite('with no artifact: the same checks but subject:<artifact>', () => {
  const report = verifyProvenanceAttestation({ attestation: dsse(good()), keys: [trustedKey.trusted] });
  assert.is(report.passed, true);
  assert.not.ok(report.checks.some((c) => c.name.startsWith('subject:')));
  assert.ok(report.statement);
});

attestationSuite('ignoreSignature: the signature check fails as NOT CHECKED, the statement checks still run, nothing passes', () => {
  const garbage: DsseEnvelope = { ...good(), signatures: [{ keyid: '', sig: Buffer.alloc(64, 9).toString('base64') }] };
  const report = verifyProvenanceAttestation({ attestation: dsse(garbage), keys: [], ignoreSignature: true });
  assert.is(report.passed, false);
  assert.equal(report.checks[0], { name: 'signature', passed: false, reason: SIGNATURE_NOT_CHECKED });
  assert.ok(report.checks.slice(1).every((c) => c.passed), JSON.stringify(report.checks));
  assert.ok(report.statement, 'the unauthenticated statement is handed back for the caller to judge');
});

const subjectMatchesSuite = suite('subjectMatches');

subjectMatchesSuite('matches on sha512 alone (npm subjects)', () => {
  assert.is(subjectMatches(artifact.digests, { sha512: artifact.digests.sha512 }), true);
});

subjectMatchesSuite('ignores algorithms it does not compute but needs one it does', () => {
  assert.is(subjectMatches(artifact.digests, { sha256: artifact.digests.sha256, blake2b: 'ff' }), true);
  assert.is(subjectMatches(artifact.digests, { blake2b: 'ff' }), false);
});

subjectMatchesSuite('compares hex case-insensitively', () => {
  assert.is(subjectMatches(artifact.digests, { sha256: artifact.digests.sha256.toUpperCase() }), true);
});

const isPinnedSuite = suite('isPinned');

isPinnedSuite('accepts sha256, sha512 and git commit digests of the right length', () => {
  assert.is(isPinned({ digest: { sha256: 'a'.repeat(64) } }), true);
  assert.is(isPinned({ digest: { sha512: 'b'.repeat(128) } }), true);
  assert.is(isPinned({ digest: { gitCommit: 'c'.repeat(40) } }), true);
});

isPinnedSuite('rejects no digest, weak-only digests and malformed hex', () => {
  assert.is(isPinned({ uri: 'x' }), false);
  assert.is(isPinned({ digest: { sha1: 'a'.repeat(40), md5: 'b'.repeat(32) } }), false);
  assert.is(isPinned({ digest: { sha256: 'xyz' } }), false);
  assert.is(isPinned({ digest: { sha256: 'A'.repeat(64) } }), false);
});

verifyProvenanceSuite.run();
subjectMatchesSuite.run();
attestationSuite.run();
isPinnedSuite.run();
