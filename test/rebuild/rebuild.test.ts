import { readFile, writeFile, mkdir, cp } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodePayload,
  envelopeFromJSON,
  envelopeToJSON,
  PAYLOAD_TYPE_INTOTO,
  PREDICATE_SLSA_VSA_V1,
  readSigner,
  readTrustedKey,
  signEnvelope,
  statementFromPayload,
  verifyEnvelopeSignatures,
} from '../../src/attest/index.js';
import { build, type BuildEvent } from '../../src/builder/index.js';
import { rebuild } from '../../src/rebuild/index.js';
import { createStore } from '../../src/store/index.js';
import { sha256Digest } from '../../src/util/digest.js';
import { makeTempDir, rejectsWithCode, repoRoot, runKiln } from '../helpers/index.js';

const root = repoRoot();
const KEY = join(root, 'examples', 'keys', 'example.key');
const PUB = join(root, 'examples', 'keys', 'example.pub');

async function original(dir: string, example: string) {
  const out = join(dir, 'original');
  const store = await createStore({ root: join(dir, 'store-original') });
  const summary = await build({ recipe: join(root, 'examples', example), out, store, attest: { signKey: KEY } });
  return { out, summary, provenance: join(out, `${summary.recipe.name}.intoto.jsonl`) };
}

/** Rewrites the provenance statement (first line) and signs it again with the example key. */
async function tamper(provenance: string, target: string, change: (statement: any) => void): Promise<void> {
  const lines = (await readFile(provenance, 'utf8')).trim().split('\n');
  const statement = statementFromPayload(decodePayload(envelopeFromJSON(lines[0]!))) as any;
  change(statement);
  const signed = signEnvelope(Buffer.from(JSON.stringify(statement)), PAYLOAD_TYPE_INTOTO, [await readSigner(KEY)]);
  await writeFile(target, envelopeToJSON(signed) + '\n');
}

const passed = suite('rebuild: a reproducible build');

passed('build the example, rebuild from its provenance in a fresh store: PASSED, and the VSA verifies', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const o = await original(dir, 'hello');
    const events: BuildEvent[] = [];
    const result = await rebuild({
      provenance: o.provenance,
      keys: [PUB],
      inputs: { src: join(root, 'examples', 'hello', 'src') },
      signKey: KEY,
      rebuilderId: 'https://rebuilder.example.org/test',
      out: join(dir, 'rebuilt'),
      store: await createStore({ root: join(dir, 'store-rebuild') }),
      reporter: (e) => events.push(e),
    });
    assert.is(result.verdict, 'PASSED');
    assert.ok(events.some((e) => e.type === 'step-start'), 'steps really ran (no cache)');
    assert.not.ok(events.some((e) => e.type === 'step-cached'));
    const vsaFile = join(dir, 'rebuilt', 'hello.vsa.intoto.jsonl');
    assert.ok(result.files.includes(vsaFile));
    const envelope = envelopeFromJSON((await readFile(vsaFile, 'utf8')).trim());
    const { validKeyids } = verifyEnvelopeSignatures(envelope, [await readTrustedKey(PUB)]);
    assert.is(validKeyids.length, 1, 'the VSA is signed by the rebuilder key');
    const vsa = statementFromPayload(decodePayload(envelope)) as any;
    assert.is(vsa.predicateType, PREDICATE_SLSA_VSA_V1);
    assert.is(vsa.predicate.verificationResult, 'PASSED');
    assert.is(vsa.predicate.verifier.id, 'https://rebuilder.example.org/test');
    assert.ok(vsa.predicate.verifiedLevels.every((l: string) => !l.startsWith('SLSA_')));
    const artifact = o.summary.artifacts[0]!;
    assert.equal(vsa.subject[0].digest, artifact.digests);
    assert.is(vsa.predicate.resourceUri, 'pkg:generic/hello@1.0.0');
    const provenanceSha = sha256Digest(await readFile(o.provenance)).slice(7);
    assert.is(vsa.predicate.inputAttestations[0].digest.sha256, provenanceSha);
    // an auditor's k-of-n policy counts this verdict
    const { hashArtifact, readAttestationFile, rebuiltProvenance, verifyRebuilds } = await import('../../src/verify/index.js');
    const checks = verifyRebuilds({
      artifacts: [await hashArtifact(join(o.out, artifact.name))],
      vsas: [await readAttestationFile(vsaFile)],
      rebuilderKeys: [await readTrustedKey(PUB)],
      minimum: 1,
      provenance: rebuiltProvenance(provenanceSha, (await import('../../src/attest/index.js')).statementFromPayload(decodePayload(envelopeFromJSON((await readFile(o.provenance, 'utf8')).split('\n')[0]!)))),
    });
    assert.is(checks.find((c) => c.name === 'rebuilds')?.passed, true);
    // the rebuilt bytes are the original bytes
    assert.ok((await readFile(join(dir, 'rebuilt', artifact.name))).equals(await readFile(join(o.out, artifact.name))));
  } finally {
    await cleanup();
  }
});

const failed = suite('rebuild: a build that does not reproduce');

failed('FAILED; the first divergent step is named and the diff classifies the member change as a timestamp', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const o = await original(dir, 'unreproducible');
    await new Promise((r) => setTimeout(r, 1100)); // the clock must move on
    const result = await rebuild({
      provenance: o.provenance,
      keys: [PUB],
      out: join(dir, 'rebuilt'),
      store: await createStore({ root: join(dir, 'store-rebuild') }),
    });
    assert.is(result.verdict, 'FAILED');
    assert.is(result.comparison.firstDivergentStep?.step, 'package');
    const rootfs = result.comparison.steps.find((s) => s.step === 'rootfs');
    assert.is(rootfs?.reproduced, true, 'the bootstrap step reproduced');
    assert.ok(result.diff, 'a diff report was written');
    const doc = JSON.parse(await readFile(result.diff!.json, 'utf8'));
    const text = JSON.stringify(doc);
    assert.match(text, /release\/README/, 'the member is named');
    assert.match(text, /"timestamp"/, 'classified as a timestamp');
    const html = await readFile(result.diff!.html, 'utf8');
    assert.match(html, /package/);
    const vsa = JSON.parse(await readFile(join(dir, 'rebuilt', 'unreproducible.vsa.statement.json'), 'utf8'));
    assert.is(vsa.statement.predicate.verificationResult, 'FAILED');
  } finally {
    await cleanup();
  }
});

const refused = suite('rebuild: refused before any step runs');

refused('an embedded recipe that does not match its digest', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const o = await original(dir, 'hello');
    const storeR = await createStore({ root: join(dir, 'store-r') });
    const bad = join(dir, 'bad.intoto.jsonl');
    await tamper(o.provenance, bad, (s) => {
      s.predicate.buildDefinition.externalParameters.recipe.content += '\n# smuggled\n';
    });
    const events: BuildEvent[] = [];
    await rejectsWithCode(
      () => rebuild({ provenance: bad, keys: [PUB], inputs: { src: join(root, 'examples', 'hello', 'src') }, out: join(dir, 'r'), store: storeR, reporter: (e) => events.push(e) }),
      'KILN_ATTEST_RECIPE_MISMATCH',
    );
    assert.is(events.length, 0);
  } finally {
    await cleanup();
  }
});

refused('a resolved dependency whose digest contradicts the recipe', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const o = await original(dir, 'hello');
    const storeR = await createStore({ root: join(dir, 'store-r') });
    const bad = join(dir, 'bad.intoto.jsonl');
    await tamper(o.provenance, bad, (s) => {
      const dep = s.predicate.buildDefinition.resolvedDependencies.find((d: any) => d.name === 'input:busybox');
      dep.digest.sha256 = 'f'.repeat(64);
    });
    const events: BuildEvent[] = [];
    await rejectsWithCode(
      () => rebuild({ provenance: bad, keys: [PUB], inputs: { src: join(root, 'examples', 'hello', 'src') }, out: join(dir, 'r'), store: storeR, reporter: (e) => events.push(e) }),
      'KILN_REBUILD_DEPENDENCY_MISMATCH',
    );
    assert.is(events.length, 0);
  } finally {
    await cleanup();
  }
});

refused('dependency bytes that do not match: a different local source folder', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const o = await original(dir, 'hello');
    const storeR = await createStore({ root: join(dir, 'store-r') });
    const src = join(dir, 'src');
    await mkdir(src);
    await cp(join(root, 'examples', 'hello', 'src'), src, { recursive: true });
    await writeFile(join(src, 'hello.sh'), '#!/bin/sh\necho pwned\n');
    const events: BuildEvent[] = [];
    await rejectsWithCode(
      () => rebuild({ provenance: o.provenance, keys: [PUB], inputs: { src }, out: join(dir, 'r'), store: storeR, reporter: (e) => events.push(e) }),
      'KILN_FETCH_INTEGRITY',
    );
    assert.not.ok(events.some((e) => e.type === 'step-start'));
  } finally {
    await cleanup();
  }
});

refused('a provenance not signed by a given key', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const o = await original(dir, 'hello');
    const storeR = await createStore({ root: join(dir, 'store-r') });
    const { writeKeyPair } = await import('../../src/attest/index.js');
    const other = await writeKeyPair(join(dir, 'other'));
    await rejectsWithCode(
      () => rebuild({ provenance: o.provenance, keys: [other.publicKeyFile], inputs: { src: join(root, 'examples', 'hello', 'src') }, out: join(dir, 'r'), store: storeR }),
      'KILN_REBUILD_UNTRUSTED',
    );
  } finally {
    await cleanup();
  }
});

refused('keyless provenance is verified like kiln verify does: a wrong identity is untrusted (exit 1), the right one gets as far as the buildType', async () => {
  const { NPM, npmFixture } = await import('../verify/provenance-helpers.js');
  const base = ['rebuild', npmFixture(NPM.bundle), '--trusted-root', npmFixture(NPM.trustedRoot), '--certificate-oidc-issuer', NPM.issuer, '--json'];
  const wrong = await runKiln([...base, '--certificate-identity-regexp', 'github\\.com/evil/']);
  assert.is(wrong.code, 1, wrong.stderr);
  assert.equal([JSON.parse(wrong.stdout).error.code, JSON.parse(wrong.stdout).error.check], ['KILN_REBUILD_UNTRUSTED', 'certificate-identity']);
  assert.match(wrong.stderr, /warning: --certificate-identity-regexp .* is not anchored/);
  const right = await runKiln([...base, '--certificate-identity', NPM.identity]);
  assert.is(right.code, 2, right.stderr);
  assert.equal([JSON.parse(right.stdout).error.code, JSON.parse(right.stdout).error.check], ['KILN_REBUILD_BAD_PROVENANCE', 'build-type']);
});

passed.run();
failed.run();
refused.run();
