import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { inspectAttestation, parseAttestationFile, parseTrustedRoot } from '../../src/verify/index.js';
import { artifactOf, BUILDER_ID, dependency, jsonl, makeKey, makeProvenance, NPM, npmFixture, sign } from './provenance-helpers.js';

const release = makeKey('release');
const other = makeKey('other');
const artifact = artifactOf('hello.tar', 'hello');
const kiln = parseAttestationFile(jsonl(sign(makeProvenance([artifact], { dependencies: [dependency(1), dependency(2)] }), [release.signer, other.signer])), 'hello.intoto.jsonl');
const npm = parseAttestationFile(readFileSync(npmFixture(NPM.bundle), 'utf8'), NPM.bundle);

const inspectAttestationSuite = suite('inspectAttestation');

inspectAttestationSuite('summarizes kiln provenance: builder, recipe, times, subjects, dependencies', () => {
  const [e] = inspectAttestation(kiln).envelopes;
  assert.is(e?.builderId, BUILDER_ID);
  assert.equal(e?.recipe, { name: 'hello', version: '2.12', digest: `sha256:${'ab'.repeat(32)}` });
  assert.equal([e?.startedOn, e?.finishedOn], ['2024-01-01T00:00:00Z', '2024-01-01T00:01:00Z']);
  assert.equal(e?.subjects.map((s) => s.name), ['hello.tar']);
  assert.is(e?.dependencies.length, 2);
  assert.equal(e?.signatures.map((s) => s.status), ['unchecked', 'unchecked']);
});

inspectAttestationSuite('says which signature a given key made', () => {
  const [e] = inspectAttestation(kiln, { keys: [release.trusted] }).envelopes;
  assert.equal(e?.signatures.map((s) => [s.keyid, s.status]), [[release.signer.keyid, 'trusted'], [other.signer.keyid, 'not-trusted']]);
});

inspectAttestationSuite('summarizes npm provenance: source repository, commit, signer identity', () => {
  const [e] = inspectAttestation(npm).envelopes;
  assert.equal(e?.source, {
    repository: 'https://github.com/microsoft/playwright-cli',
    ref: 'refs/tags/v0.1.1',
    workflow: '.github/workflows/publish.yml',
    commit: 'd1c6d1113932ddcee243e8b111b6d4aea553df20',
  });
  assert.is(e?.certificate?.identity, NPM.identity);
  assert.is(e?.certificate?.issuer, NPM.issuer);
  assert.is(e?.certificate?.status, 'unchecked');
  assert.ok(e?.loggedAt?.startsWith('2026-'));
});

inspectAttestationSuite('checks a keyless certificate when a trusted root is given', () => {
  const trustMaterial = parseTrustedRoot(readFileSync(npmFixture(NPM.trustedRoot), 'utf8'), NPM.trustedRoot);
  assert.is(inspectAttestation(npm, { trustMaterial }).envelopes[0]?.certificate?.status, 'trusted');
});

inspectAttestationSuite('shows an envelope whose payload is not JSON with an error instead of claims', () => {
  const a = parseAttestationFile(jsonl({ payload: Buffer.from('not json').toString('base64'), payloadType: 'x', signatures: [{ keyid: '', sig: 'AA==' }] }), 'x.jsonl');
  const [e] = inspectAttestation(a).envelopes;
  assert.match(e?.error ?? '', /payload unreadable/);
  assert.is(e?.builderId, undefined);
});

inspectAttestationSuite.run();
