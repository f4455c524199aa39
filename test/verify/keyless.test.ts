import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  assertKeylessOptions,
  isAnchoredPattern,
  hashArtifact,
  parseAttestationFile,
  parseTrustedRoot,
  verifyKeylessBundle,
  verifyProvenance,
  type Attestation,
} from '../../src/verify/index.js';
import { throwsWithCode } from '../helpers/index.js';
import { artifactOf, NPM, npmFixture } from './provenance-helpers.js';

const read = (name: string) => readFileSync(npmFixture(name), 'utf8');
const trustMaterial = parseTrustedRoot(read(NPM.trustedRoot), NPM.trustedRoot);
const expected = { certificateIdentity: NPM.identity, certificateOidcIssuer: NPM.issuer };

function bundleOf(text: string): Extract<Attestation, { kind: 'sigstore' }> {
  const attestation = parseAttestationFile(text, NPM.bundle);
  if (attestation.kind !== 'sigstore') throw new Error('expected a bundle');
  return attestation;
}
const npmBundle = bundleOf(read(NPM.bundle));

const verifyKeylessBundleSuite = suite('verifyKeylessBundle');

verifyKeylessBundleSuite('verifies npm provenance offline against the trusted root and its identity', () => {
  const result = verifyKeylessBundle(npmBundle.bundle, trustMaterial, expected);
  assert.equal(result.checks.map((c) => [c.name, c.passed]), [['signature', true], ['certificate-identity', true]]);
  assert.equal(result.signer, { identity: NPM.identity, issuer: NPM.issuer });
  assert.ok(result.payload && JSON.parse(result.payload.toString()).predicateType === 'https://slsa.dev/provenance/v1');
});

verifyKeylessBundleSuite('fails the identity check for another expected identity', () => {
  const result = verifyKeylessBundle(npmBundle.bundle, trustMaterial, { ...expected, certificateIdentity: NPM.identity.replace('v0.1.1', 'v0.1.2') });
  assert.is(result.checks[1]?.name, 'certificate-identity');
  assert.is(result.checks[1]?.passed, false);
  assert.is(result.payload, undefined, 'no payload is handed out');
});

verifyKeylessBundleSuite('matches an exact identity literally, not as a pattern', () => {
  // Both would match as (unanchored) regular expressions, which is how @sigstore/verify reads
  // its own SAN policy; as identities they are other workflows.
  for (const identity of [NPM.identity.replace('publish.yml', 'publish.ym.'), 'https://github.com/microsoft/playwright-cli/']) {
    const result = verifyKeylessBundle(npmBundle.bundle, trustMaterial, { ...expected, certificateIdentity: identity });
    assert.is(result.checks[1]?.passed, false, identity);
  }
});

verifyKeylessBundleSuite('accepts an identity regexp that matches and rejects one that does not', () => {
  const ok = verifyKeylessBundle(npmBundle.bundle, trustMaterial, { certificateIdentityRegexp: '^https://github\\.com/microsoft/playwright-cli/', certificateOidcIssuer: NPM.issuer });
  assert.is(ok.checks[1]?.passed, true);
  const no = verifyKeylessBundle(npmBundle.bundle, trustMaterial, { certificateIdentityRegexp: '^https://github\\.com/evil/', certificateOidcIssuer: NPM.issuer });
  assert.is(no.checks[1]?.passed, false);
});

verifyKeylessBundleSuite('fails the identity check for another OIDC issuer', () => {
  const result = verifyKeylessBundle(npmBundle.bundle, trustMaterial, { ...expected, certificateOidcIssuer: 'https://accounts.google.com' });
  assert.is(result.checks[1]?.passed, false);
  assert.match(result.checks[1]!.reason, /issuer/);
});

verifyKeylessBundleSuite('fails the signature check when the payload was changed', () => {
  const json = JSON.parse(read(NPM.bundle)) as { dsseEnvelope: { payload: string } };
  const payload = Buffer.from(json.dsseEnvelope.payload, 'base64').toString().replace('refs/tags/v0.1.1', 'refs/tags/v9.9.9');
  json.dsseEnvelope.payload = Buffer.from(payload).toString('base64');
  const result = verifyKeylessBundle(bundleOf(JSON.stringify(json)).bundle, trustMaterial, expected);
  assert.equal(result.checks.map((c) => [c.name, c.passed]), [['signature', false]]);
});

verifyKeylessBundleSuite('fails the signature check against a trusted root without the Fulcio CA', () => {
  const root = JSON.parse(read(NPM.trustedRoot)) as { certificateAuthorities: unknown[] };
  root.certificateAuthorities = [];
  const result = verifyKeylessBundle(npmBundle.bundle, parseTrustedRoot(JSON.stringify(root), 'root.json'), expected);
  assert.is(result.checks[0]?.passed, false);
});

const npmProvenance = suite('verifyProvenance (npm keyless)');

npmProvenance('the npm tarball and its provenance bundle pass', async () => {
  const tarball = await hashArtifact(npmFixture(NPM.tarball));
  const report = verifyProvenance({ artifacts: [tarball], attestation: npmBundle, keys: [], keyless: { ...expected, trustMaterial }, builderId: 'https://github.com/actions/runner/github-hosted' });
  assert.is(report.passed, true, JSON.stringify(report.checks, null, 1));
  assert.equal(report.signer, { kind: 'certificate', identity: NPM.identity, issuer: NPM.issuer });
  assert.is(report.checks.find((c) => c.name === `subject:${NPM.tarball}`)?.passed, true);
});

npmProvenance('the registry attestations document passes the same way', async () => {
  const tarball = await hashArtifact(npmFixture(NPM.tarball));
  const attestation = parseAttestationFile(read(NPM.attestations), NPM.attestations);
  assert.is(verifyProvenance({ artifacts: [tarball], attestation, keys: [], keyless: { ...expected, trustMaterial } }).passed, true);
});

npmProvenance('the wrong tarball fails at its subject', () => {
  const report = verifyProvenance({ artifacts: [artifactOf(NPM.tarball, 'not the package')], attestation: npmBundle, keys: [], keyless: { ...expected, trustMaterial } });
  assert.is(report.passed, false);
  assert.equal(report.checks.filter((c) => !c.passed).map((c) => c.name), [`subject:${NPM.tarball}`]);
});

npmProvenance('the right tarball with the wrong expected identity fails', async () => {
  const tarball = await hashArtifact(npmFixture(NPM.tarball));
  const report = verifyProvenance({
    artifacts: [tarball],
    attestation: npmBundle,
    keys: [],
    keyless: { certificateIdentity: 'https://github.com/someone/else/.github/workflows/publish.yml@refs/tags/v0.1.1', certificateOidcIssuer: NPM.issuer, trustMaterial },
  });
  assert.is(report.passed, false);
  assert.equal(report.checks.filter((c) => !c.passed).map((c) => c.name), ['certificate-identity']);
});

npmProvenance('a keyless bundle without trust material is bad input', () => {
  throwsWithCode(() => verifyProvenance({ artifacts: [artifactOf('x', 'x')], attestation: npmBundle, keys: [] }), 'KILN_VERIFY_NO_TRUST');
});

const assertKeylessOptionsSuite = suite('assertKeylessOptions');

assertKeylessOptionsSuite('requires an identity and an issuer, like cosign', () => {
  throwsWithCode(() => assertKeylessOptions({ certificateOidcIssuer: NPM.issuer }), 'KILN_VERIFY_IDENTITY_REQUIRED');
  throwsWithCode(() => assertKeylessOptions({ certificateIdentity: NPM.identity }), 'KILN_VERIFY_IDENTITY_REQUIRED');
  assertKeylessOptions(expected);
});

assertKeylessOptionsSuite('rejects an invalid identity regexp', () => {
  throwsWithCode(() => assertKeylessOptions({ certificateIdentityRegexp: '(unclosed', certificateOidcIssuer: NPM.issuer }), 'KILN_VERIFY_BAD_REGEXP');
});

const anchored = suite('isAnchoredPattern');

anchored('a pattern that can only match a whole identity', () => {
  for (const re of ['^https://github\\.com/o/r/\\.github/workflows/release\\.yml@refs/tags/v[0-9.]+$', '^(a|b)$', '^[|$]x$', '^a\\\\$']) assert.is(isAnchoredPattern(re), true, re);
});

anchored('a pattern that matches inside a longer identity, or an alternation that escapes the anchors', () => {
  for (const re of ['github\\.com/o/r/', '^https://github\\.com/o/r/', 'release\\.yml$', '^a|b$', '^a\\$', '^(a$', '^[a$', '']) assert.is(isAnchoredPattern(re), false, re);
});

anchored('cosign semantics are kept: an unanchored pattern still matches anywhere (the CLI only warns)', () => {
  const result = verifyKeylessBundle(npmBundle.bundle, trustMaterial, { certificateIdentityRegexp: 'microsoft/playwright-cli/', certificateOidcIssuer: NPM.issuer });
  assert.is(result.checks[1]?.passed, true);
});

const parseTrustedRootSuite = suite('parseTrustedRoot');

parseTrustedRootSuite('rejects text that is not a trusted root', () => {
  throwsWithCode(() => parseTrustedRoot('{}', 'root.json'), 'KILN_VERIFY_BAD_TRUSTED_ROOT');
  throwsWithCode(() => parseTrustedRoot('not json', 'root.json'), 'KILN_VERIFY_BAD_TRUSTED_ROOT');
});

verifyKeylessBundleSuite.run();
npmProvenance.run();
assertKeylessOptionsSuite.run();
parseTrustedRootSuite.run();
anchored.run();
