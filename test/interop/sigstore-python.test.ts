import { appendFile, copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { makeTempDir, repoRoot } from '../helpers/index.js';
import { peerSuite } from '../helpers/peers.js';
import { expectRow, kiln, writeJSON } from './support.js';

/**
 * A differential test (docs/interop.md, rows sigstore-*): sigstore-python and `kiln verify`
 * judge npm's real provenance for @playwright/cli@0.1.1 (a keyless Sigstore bundle v0.3,
 * test/fixtures/npm-provenance, byte-identical to the shared fixtures) and variants forged
 * here, and must reach the same verdict on every case. Both run offline against the same
 * trusted root. Where sigstore-python's CLI differs (it matches SHA-256 subjects only, npm's
 * carry sha512), a row of its own pins that difference and says why.
 */

const FIXTURES = join(repoRoot(), 'test', 'fixtures', 'npm-provenance');
const NPM = {
  tarball: 'playwright-cli-0.1.1.tgz',
  bundle: 'playwright-cli-0.1.1.provenance.sigstore.json',
  identity: 'https://github.com/microsoft/playwright-cli/.github/workflows/publish.yml@refs/tags/v0.1.1',
  issuer: 'https://token.actions.githubusercontent.com',
};

interface Case {
  name: string;
  bundle: string;
  artifact: string;
  identity: string;
  issuer: string;
  /** The verdict both must reach; stated up front so a case cannot pass by both tools being wrong. */
  expected: 'PASSED' | 'FAILED';
}

interface Bundle {
  dsseEnvelope: { payload: string; signatures: Array<{ sig: string }> };
  verificationMaterial: { tlogEntries: Array<{ inclusionProof: { hashes: string[] } }> };
}

const differential = peerSuite('sigstore-python and kiln verify agree on npm provenance', ['python']);

let tmp: { dir: string; cleanup: () => Promise<void> };
const cases: Case[] = [];

/** Writes a forged copy of npm's bundle: `edit` changes the parsed JSON. */
async function forge(name: string, edit: (bundle: Bundle) => void): Promise<string> {
  const bundle = JSON.parse(await readFile(join(FIXTURES, NPM.bundle), 'utf8')) as Bundle;
  edit(bundle);
  const file = `${name}.sigstore.json`;
  await writeJSON(join(tmp.dir, file), bundle);
  return file;
}

/** Flips the lowest bit of the byte at `at` of a base64 field. */
function flipBit(b64: string, at: number): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[at] ^= 1;
  return bytes.toString('base64');
}

differential.before(async () => {
  tmp = await makeTempDir('kiln-interop-sigstore-');
  for (const f of [NPM.tarball, NPM.bundle, 'trusted_root.json']) await copyFile(join(FIXTURES, f), join(tmp.dir, f));
  await copyFile(join(FIXTURES, NPM.tarball), join(tmp.dir, 'other.tgz'));
  await appendFile(join(tmp.dir, 'other.tgz'), Buffer.from([0]));
  const otherSha512 = (await import('node:crypto')).createHash('sha512').update(await readFile(join(tmp.dir, 'other.tgz'))).digest('hex');

  const base = { bundle: NPM.bundle, artifact: NPM.tarball, identity: NPM.identity, issuer: NPM.issuer };
  cases.push(
    { name: 'genuine', ...base, expected: 'PASSED' },
    { name: 'wrong artifact (one byte appended)', ...base, artifact: 'other.tgz', expected: 'FAILED' },
    { name: 'wrong identity (another tag)', ...base, identity: NPM.identity.replace('v0.1.1', 'v0.1.2'), expected: 'FAILED' },
    { name: 'wrong identity (another repository)', ...base, identity: NPM.identity.replace('microsoft/', 'someone-else/'), expected: 'FAILED' },
    { name: 'wrong issuer', ...base, issuer: 'https://accounts.google.com', expected: 'FAILED' },
    {
      name: 'broken signature (one bit flipped)',
      ...base,
      bundle: await forge('broken-signature', (b) => {
        b.dsseEnvelope.signatures[0]!.sig = flipBit(b.dsseEnvelope.signatures[0]!.sig, 10);
      }),
      expected: 'FAILED',
    },
    {
      name: 'payload rewritten to name other bytes (signature kept)',
      ...base,
      artifact: 'other.tgz',
      bundle: await forge('changed-payload', (b) => {
        const statement = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8')) as { subject: Array<{ digest: Record<string, string> }> };
        statement.subject[0]!.digest = { sha512: otherSha512 };
        b.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
      }),
      expected: 'FAILED',
    },
    {
      name: 'broken transparency log inclusion proof',
      ...base,
      bundle: await forge('broken-log-proof', (b) => {
        const proof = b.verificationMaterial.tlogEntries[0]!.inclusionProof;
        proof.hashes[0] = flipBit(proof.hashes[0]!, 0);
      }),
      expected: 'FAILED',
    },
    {
      name: 'no transparency log entry',
      ...base,
      bundle: await forge('no-log-entry', (b) => {
        b.verificationMaterial.tlogEntries = [];
      }),
      expected: 'FAILED',
    },
  );
});
differential.after(() => tmp.cleanup());

async function kilnVerdict(c: Case): Promise<{ verdict: 'PASSED' | 'FAILED'; code: number; why: string }> {
  const args = ['verify', c.artifact, '--provenance', c.bundle, '--trusted-root', 'trusted_root.json', '--certificate-identity', c.identity, '--certificate-oidc-issuer', c.issuer, '--json'];
  const run = await kiln(args, tmp.dir);
  // exit 1: a failed verdict; exit 2: input kiln refuses to read. Both are "not verified".
  assert.ok([0, 1, 2].includes(run.code), `kiln verify exit ${run.code}: ${run.stderr}`);
  const report = JSON.parse(run.stdout || '{}') as { checks?: Array<{ name: string; passed: boolean; reason: string }>; error?: { message: string } };
  const failed = report.checks?.find((ch) => !ch.passed);
  return { verdict: run.code === 0 ? 'PASSED' : 'FAILED', code: run.code, why: failed ? `${failed.name}: ${failed.reason}` : report.error?.message ?? run.stderr.trim() };
}

differential('same verdict as kiln verify on npm provenance and on every forged variant', async () => {
  await writeJSON(join(tmp.dir, 'cases.json'), cases);
  const ran = await expectRow('sigstore-differential', tmp.dir);
  const python = JSON.parse(ran.stdout) as Array<{ name: string; verdict: 'PASSED' | 'FAILED'; stage: string; error: string | null }>;
  assert.is(python.length, cases.length);
  const table: string[] = [];
  for (const [i, c] of cases.entries()) {
    const k = await kilnVerdict(c);
    const p = python[i]!;
    table.push(`${c.name}: kiln ${k.verdict} (${k.why || 'all checks passed'}) · sigstore-python ${p.verdict} (${p.error ?? p.stage})`);
    assert.is(p.verdict, k.verdict, `${c.name}: the tools disagree\n${table.join('\n')}`);
    assert.is(k.verdict, c.expected, `${c.name}: both say ${k.verdict}, the forgery means ${c.expected}\n${table.join('\n')}`);
  }
  // the genuine case passed sigstore-python's verification and needed the sha512 comparison
  // the script documents (npm's subject has no sha256)
  assert.is(python[0]!.stage, 'sha512 subject (compared here)');
  // and each forgery was caught by the part of sigstore-python meant to catch it
  const stage = (name: string) => python[cases.findIndex((c) => c.name === name)]!.stage;
  assert.is(stage('wrong artifact (one byte appended)'), 'subject');
  for (const name of ['wrong identity (another tag)', 'wrong issuer', 'broken signature (one bit flipped)', 'payload rewritten to name other bytes (signature kept)', 'broken transparency log inclusion proof']) {
    assert.is(stage(name), 'sigstore.verify_dsse', name);
  }
});

differential('sigstore-python\'s CLI rejects npm\'s genuine provenance: it matches SHA-256 subjects only (a known, documented difference)', async () => {
  const trustedRoot = JSON.parse(await readFile(join(tmp.dir, 'trusted_root.json'), 'utf8')) as unknown;
  await writeJSON(join(tmp.dir, 'trust_config.json'), {
    mediaType: 'application/vnd.dev.sigstore.clienttrustconfig.v0.1+json',
    trustedRoot,
    signingConfig: { mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json' },
  });
  const bad = await expectRow('sigstore-cli-npm', tmp.dir);
  assert.match(bad.output.replace(/\s+/g, ' '), /in-toto statement has no subject for digest/);
  const subject = (JSON.parse(Buffer.from((JSON.parse(await readFile(join(tmp.dir, NPM.bundle), 'utf8')) as Bundle).dsseEnvelope.payload, 'base64').toString()) as { subject: Array<{ digest: Record<string, string> }> }).subject;
  assert.equal(subject.map((s) => Object.keys(s.digest)), [['sha512']], 'the reason: npm\'s only subject has no sha256');
  const k = await kilnVerdict({ name: 'genuine', bundle: NPM.bundle, artifact: NPM.tarball, identity: NPM.identity, issuer: NPM.issuer, expected: 'PASSED' });
  assert.is(k.verdict, 'PASSED', k.why);
});

differential.run();
