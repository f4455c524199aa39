import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { inspect, verify } from '../../src/verify/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { artifactOf, BUILDER_ID, jsonl, makeKey, makeProvenance, sign } from './provenance-helpers.js';

const release = makeKey('release');
const mallory = makeKey('mallory');
const CONTENT = 'hello, release\n';

/** A temp dir with hello.tar, its provenance signed by `release`, release.pub and mallory.pub. */
async function workspace(): Promise<{ cleanup: () => Promise<void>; path: (name: string) => string }> {
  const { dir, cleanup } = await makeTempDir('kiln-verify-files-');
  const path = (name: string) => join(dir, name);
  await writeFile(path('hello.tar'), CONTENT);
  await writeFile(path('hello.intoto.jsonl'), jsonl(sign(makeProvenance([artifactOf('hello.tar', CONTENT)]), [release.signer])));
  await writeFile(path('release.pub'), release.signer.publicKeyPem);
  await writeFile(path('mallory.pub'), mallory.signer.publicKeyPem);
  return { cleanup, path };
}

const verifySuite = suite('verify');

verifySuite('loads, hashes and verifies from files: the report with the attestation and the hashed artifacts', async () => {
  const w = await workspace();
  try {
    const result = await verify({ artifacts: [w.path('hello.tar')], provenance: w.path('hello.intoto.jsonl'), keys: [w.path('release.pub')], builderId: BUILDER_ID });
    assert.ok(result.passed, JSON.stringify(result.checks));
    assert.is(result.attestation.file, w.path('hello.intoto.jsonl'));
    assert.equal(result.artifacts.map((a) => [a.name, a.size]), [['hello.tar', CONTENT.length]]);
    const untrusted = await verify({ artifacts: [w.path('hello.tar')], provenance: w.path('hello.intoto.jsonl'), keys: [w.path('mallory.pub')] });
    assert.is(untrusted.passed, false);
    assert.equal(untrusted.checks.filter((c) => !c.passed).map((c) => c.name), ['signature']);
  } finally {
    await w.cleanup();
  }
});

verifySuite('refuses bad options before hashing an artifact: required verdicts without rebuilder keys, a minimum below 1', async () => {
  const w = await workspace();
  try {
    // The artifact does not exist: reaching the hashing would be KILN_VERIFY_UNREADABLE.
    const base = { artifacts: [w.path('missing.tar')], provenance: w.path('hello.intoto.jsonl'), keys: [w.path('release.pub')] };
    await rejectsWithCode(() => verify({ ...base, minRebuilds: 1 }), 'KILN_USAGE');
    await rejectsWithCode(() => verify({ ...base, minRebuilds: 0, rebuilderKeys: [w.path('release.pub')] }), 'KILN_USAGE');
    await rejectsWithCode(() => verify({ ...base, artifacts: [] }), 'KILN_USAGE');
    await rejectsWithCode(() => verify(base), 'KILN_VERIFY_UNREADABLE');
  } finally {
    await w.cleanup();
  }
});

const inspectSuite = suite('inspect');

inspectSuite('reads the file and reports which signatures the given keys made', async () => {
  const w = await workspace();
  try {
    const [envelope] = (await inspect(w.path('hello.intoto.jsonl'), { keys: [w.path('release.pub')] })).envelopes;
    assert.equal(envelope?.signatures.map((s) => s.status), ['trusted']);
    const [unchecked] = (await inspect(w.path('hello.intoto.jsonl'))).envelopes;
    assert.equal(unchecked?.signatures.map((s) => s.status), ['unchecked']);
    await rejectsWithCode(() => inspect(w.path('hello.tar')), 'KILN_VERIFY_BAD_ATTESTATION');
  } finally {
    await w.cleanup();
  }
});

verifySuite.run();
inspectSuite.run();
