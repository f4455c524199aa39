import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatInspection } from '../../../src/cli/commands/inspect.js';
import type { CliIO } from '../../../src/cli/io.js';
import { main } from '../../../src/cli/main.js';
import { inspectAttestation, parseAttestationFile } from '../../../src/verify/index.js';
import { makeTempDir } from '../../helpers/index.js';
import { artifactOf, BUILDER_ID, dependency, jsonl, makeKey, makeProvenance, NPM, npmFixture, sign } from '../../verify/provenance-helpers.js';

/** The CLI in this process: bad input is rendered and resolves to exit 2. */
const runInspectCommand = (args: string[], io: CliIO) => main(['inspect', ...args], io);

/** A CliIO that records what was written. */
function fakeIO() {
  const out = { stdout: '', stderr: '' };
  return { io: { stdout: { write: (t: string) => void (out.stdout += t) }, stderr: { write: (t: string) => void (out.stderr += t) } }, out };
}

const release = makeKey('release');
const other = makeKey('other');

/** A temp dir with hello.tar, its provenance signed by `release`, and release.pub. */
async function workspace(): Promise<{ cleanup: () => Promise<void>; path: (name: string) => string }> {
  const { dir, cleanup } = await makeTempDir('kiln-inspect-cli-');
  const path = (name: string) => join(dir, name);
  await writeFile(path('hello.tar'), 'hello, release\n');
  await writeFile(path('hello.intoto.jsonl'), jsonl(sign(makeProvenance([artifactOf('hello.tar', 'hello, release\n')]), [release.signer])));
  await writeFile(path('release.pub'), release.signer.publicKeyPem);
  return { cleanup, path };
}

const runInspectCommandSuite = suite('kiln inspect');

runInspectCommandSuite('prints a summary, or JSON, and exit 0', async () => {
  const w = await workspace();
  try {
    const text = fakeIO();
    assert.is(await runInspectCommand([w.path('hello.intoto.jsonl'), '--key', w.path('release.pub')], text.io), 0);
    assert.ok(text.out.stdout.includes(BUILDER_ID) && text.out.stdout.includes(`verified by ${w.path('release.pub')}`), text.out.stdout);
    const json = fakeIO();
    assert.is(await runInspectCommand([npmFixture(NPM.bundle), '--json'], json.io), 0);
    assert.is((JSON.parse(json.out.stdout) as { envelopes: Array<{ certificate: { identity: string } }> }).envelopes[0]?.certificate.identity, NPM.identity);
  } finally {
    await w.cleanup();
  }
});

runInspectCommandSuite('exit 2 for a file that is not an attestation', async () => {
  const w = await workspace();
  try {
    const { io, out } = fakeIO();
    assert.is(await runInspectCommand([w.path('hello.tar')], io), 2);
    assert.ok(out.stderr.includes(w.path('hello.tar')), out.stderr);
  } finally {
    await w.cleanup();
  }
});

const kiln = parseAttestationFile(jsonl(sign(makeProvenance([artifactOf('hello.tar', 'hello')], { dependencies: [dependency(1), dependency(2)] }), [release.signer, other.signer])), 'hello.intoto.jsonl');
const npm = parseAttestationFile(readFileSync(npmFixture(NPM.bundle), 'utf8'), NPM.bundle);

const formatInspectionSuite = suite('formatInspection');

formatInspectionSuite('prints who built it, from what, subjects, dependencies and signature status', () => {
  const text = formatInspection(inspectAttestation(kiln, { keys: [release.trusted] }));
  for (const needle of [BUILDER_ID, 'hello 2.12', 'hello.tar', 'dep-1.tar.gz', `${release.signer.keyid}  verified by release.pub`, 'NOT verified']) {
    assert.ok(text.includes(needle), `missing ${needle} in\n${text}`);
  }
});

formatInspectionSuite('prints the npm signer and source', () => {
  const text = formatInspection(inspectAttestation(npm));
  assert.ok(text.includes(NPM.identity) && text.includes('https://github.com/microsoft/playwright-cli @ refs/tags/v0.1.1'), text);
});

runInspectCommandSuite.run();
formatInspectionSuite.run();
