import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CliIO } from '../../../src/cli/io.js';
import { main } from '../../../src/cli/main.js';
import { makeTempDir } from '../../helpers/index.js';
import { artifactOf, BUILDER_ID, jsonl, makeKey, makeProvenance, NPM, npmFixture, sign } from '../../verify/provenance-helpers.js';

/** The CLI in this process: usage errors and bad input are rendered and resolve to exit 2. */
const runVerifyCommand = (args: string[], io: CliIO) => main(['verify', ...args], io);

/** A CliIO that records what was written. */
function fakeIO() {
  const out = { stdout: '', stderr: '' };
  return { io: { stdout: { write: (t: string) => void (out.stdout += t) }, stderr: { write: (t: string) => void (out.stderr += t) } }, out };
}

const release = makeKey('release');
const mallory = makeKey('mallory');
const CONTENT = 'hello, release\n';

/** A temp dir with hello.tar, its provenance signed by `release`, release.pub and mallory.pub. */
async function workspace(): Promise<{ dir: string; cleanup: () => Promise<void>; path: (name: string) => string }> {
  const { dir, cleanup } = await makeTempDir('kiln-verify-cli-');
  const path = (name: string) => join(dir, name);
  await writeFile(path('hello.tar'), CONTENT);
  await writeFile(path('other.tar'), 'something else');
  await writeFile(path('hello.intoto.jsonl'), jsonl(sign(makeProvenance([artifactOf('hello.tar', CONTENT)]), [release.signer])));
  await writeFile(path('release.pub'), release.signer.publicKeyPem);
  await writeFile(path('mallory.pub'), mallory.signer.publicKeyPem);
  return { dir, cleanup, path };
}

const runVerifyCommandSuite = suite('kiln verify');

runVerifyCommandSuite('exit 0 and one ✓ line per check for a good artifact', async () => {
  const w = await workspace();
  try {
    const { io, out } = fakeIO();
    const code = await runVerifyCommand([w.path('hello.tar'), '--provenance', w.path('hello.intoto.jsonl'), '--key', w.path('release.pub'), '--builder-id', BUILDER_ID], io);
    assert.is(code, 0, out.stderr + out.stdout);
    assert.match(out.stdout, /^✓ signature /m);
    assert.match(out.stdout, /^✓ subject:hello\.tar /m);
    assert.match(out.stdout, /^PASSED/m);
  } finally {
    await w.cleanup();
  }
});

runVerifyCommandSuite('exit 1 naming the failed check for the wrong artifact, and for an untrusted key', async () => {
  const w = await workspace();
  try {
    const a = fakeIO();
    assert.is(await runVerifyCommand([w.path('other.tar'), '--provenance', w.path('hello.intoto.jsonl'), '--key', w.path('release.pub')], a.io), 1);
    assert.match(a.out.stdout, /^✗ subject:other\.tar /m);
    assert.match(a.out.stdout, /^FAILED: subject:other\.tar/m);
    const b = fakeIO();
    assert.is(await runVerifyCommand([w.path('hello.tar'), '--provenance', w.path('hello.intoto.jsonl'), '--key', w.path('mallory.pub')], b.io), 1);
    assert.match(b.out.stdout, /^✗ signature /m);
  } finally {
    await w.cleanup();
  }
});

runVerifyCommandSuite('--json gives the verdict, the artifacts and every check', async () => {
  const w = await workspace();
  try {
    const { io, out } = fakeIO();
    const code = await runVerifyCommand([w.path('hello.tar'), '--provenance', w.path('hello.intoto.jsonl'), '--key', w.path('release.pub'), '--builder-id', 'https://other', '--json'], io);
    assert.is(code, 1);
    const report = JSON.parse(out.stdout) as { kiln: string; passed: boolean; artifacts: Array<{ name: string }>; checks: Array<{ name: string; passed: boolean }> };
    assert.is(report.kiln, 'verify/v1');
    assert.is(report.passed, false);
    assert.equal(report.artifacts.map((a) => a.name), ['hello.tar']);
    assert.equal(report.checks.filter((c) => !c.passed).map((c) => c.name), ['builder-id']);
  } finally {
    await w.cleanup();
  }
});

runVerifyCommandSuite('a policy with a failing rule is exit 1 and names the rule', async () => {
  const w = await workspace();
  try {
    await writeFile(w.path('policy.yaml'), 'kiln: 1\nrules:\n  - name: needs-two-subjects\n    expr: size(subject) == 2\n');
    const { io, out } = fakeIO();
    assert.is(await runVerifyCommand([w.path('hello.tar'), '--provenance', w.path('hello.intoto.jsonl'), '--key', w.path('release.pub'), '--policy', w.path('policy.yaml')], io), 1);
    assert.match(out.stdout, /^✗ policy:needs-two-subjects /m);
  } finally {
    await w.cleanup();
  }
});

runVerifyCommandSuite('a malformed policy is exit 2 with file:line', async () => {
  const w = await workspace();
  try {
    await writeFile(w.path('policy.yaml'), 'kiln: 1\nrules:\n  - name: ok\n    expr: "true"\n  - name: broken\n    expr: subject[0 ==\n');
    const { io, out } = fakeIO();
    assert.is(await runVerifyCommand([w.path('hello.tar'), '--provenance', w.path('hello.intoto.jsonl'), '--key', w.path('release.pub'), '--policy', w.path('policy.yaml')], io), 2);
    assert.ok(out.stderr.includes(`${w.path('policy.yaml')}:6:`), out.stderr);
    assert.is(out.stdout, '');
  } finally {
    await w.cleanup();
  }
});

runVerifyCommandSuite('usage errors are exit 2: no artifact, no --provenance, no --key, unknown flag', async () => {
  const w = await workspace();
  try {
    const cases = [
      ['--provenance', w.path('hello.intoto.jsonl'), '--key', w.path('release.pub')],
      [w.path('hello.tar'), '--key', w.path('release.pub')],
      [w.path('hello.tar'), '--provenance', w.path('hello.intoto.jsonl')],
      [w.path('hello.tar'), '--provenance', w.path('hello.intoto.jsonl'), '--key', w.path('release.pub'), '--frobnicate'],
      [w.path('missing.tar'), '--provenance', w.path('hello.intoto.jsonl'), '--key', w.path('release.pub')],
    ];
    for (const args of cases) {
      const { io, out } = fakeIO();
      assert.is(await runVerifyCommand(args, io), 2, args.join(' '));
      assert.ok(out.stderr.length > 0);
    }
  } finally {
    await w.cleanup();
  }
});

runVerifyCommandSuite('the npm tarball verifies keylessly; a wrong identity fails; no identity is exit 2', async () => {
  const base = [npmFixture(NPM.tarball), '--provenance', npmFixture(NPM.bundle), '--trusted-root', npmFixture(NPM.trustedRoot)];
  const good = fakeIO();
  assert.is(await runVerifyCommand([...base, '--certificate-identity', NPM.identity, '--certificate-oidc-issuer', NPM.issuer], good.io), 0, good.out.stdout + good.out.stderr);
  const wrong = fakeIO();
  assert.is(await runVerifyCommand([...base, '--certificate-identity-regexp', '^https://github\\.com/evil/', '--certificate-oidc-issuer', NPM.issuer], wrong.io), 1);
  assert.match(wrong.out.stdout, /^✗ certificate-identity /m);
  const missing = fakeIO();
  assert.is(await runVerifyCommand([...base, '--certificate-oidc-issuer', NPM.issuer, '--json'], missing.io), 2);
  assert.is((JSON.parse(missing.out.stdout) as { error: { code: string } }).error.code, 'KILN_VERIFY_IDENTITY_REQUIRED');
});

runVerifyCommandSuite('an unanchored --certificate-identity-regexp still matches (cosign semantics) but warns; an anchored one does not', async () => {
  const base = [npmFixture(NPM.tarball), '--provenance', npmFixture(NPM.bundle), '--trusted-root', npmFixture(NPM.trustedRoot), '--certificate-oidc-issuer', NPM.issuer];
  const loose = fakeIO();
  assert.is(await runVerifyCommand([...base, '--certificate-identity-regexp', 'github\\.com/microsoft/playwright-cli/', '--json'], loose.io), 0, loose.out.stderr);
  assert.match(loose.out.stderr, /warning: --certificate-identity-regexp .* is not anchored/);
  assert.ok(JSON.parse(loose.out.stdout).passed, 'stdout stays JSON: the warning goes to stderr');
  const tight = fakeIO();
  const anchored = '^https://github\\.com/microsoft/playwright-cli/\\.github/workflows/publish\\.yml@refs/tags/v[0-9.]+$';
  assert.is(await runVerifyCommand([...base, '--certificate-identity-regexp', anchored], tight.io), 0, tight.out.stdout + tight.out.stderr);
  assert.is(tight.out.stderr, '');
});

runVerifyCommandSuite.run();
