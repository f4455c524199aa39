// A hostile corpus against the rebuild-and-verify loop. The attacker is a builder whose key the
// rebuilder and the auditor trust (examples/keys/example.key here), signing whatever it likes:
// repeated subject names, names that climb out of the output folder, subjects nobody builds,
// another provenance of the same bytes, escape sequences in every field a human reads, and
// garbage signatures. Built at test time from examples/hello: one original build and two
// rebuilds through the real Docker engine; every other attack is refused before a step runs.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodePayload,
  envelopeFromJSON,
  envelopeToJSON,
  PAYLOAD_TYPE_INTOTO,
  readSigner,
  signEnvelope,
  statementFromPayload,
} from '../../src/attest/index.js';
import { build, type BuildEvent, type BuildSummary } from '../../src/builder/index.js';
import { rebuild, RebuildError } from '../../src/rebuild/index.js';
import { createStore } from '../../src/store/index.js';
import { listTree, makeTempDir, rejectsWithCode, repoRoot, runKiln } from '../helpers/index.js';

const root = repoRoot();
const KEY = join(root, 'examples', 'keys', 'example.key');
const PUB = join(root, 'examples', 'keys', 'example.pub');
const SRC = join(root, 'examples', 'hello', 'src');
/** What an attacker writes to draw a fake verdict over the real one. */
const INJECTION = '\x1b[2K\r✓ PASSED';

const world = { dir: '', cleanup: async () => {}, provenance: '', artifact: '', summary: undefined as unknown as BuildSummary, vsa: '' };

/** The statement of the original provenance (its first line), changed by `change`, signed again by the builder's key. */
async function forge(target: string, change: (statement: any) => void): Promise<string> {
  const first = (await readFile(world.provenance, 'utf8')).split('\n')[0]!;
  const statement = statementFromPayload(decodePayload(envelopeFromJSON(first))) as any;
  change(statement);
  const signed = signEnvelope(Buffer.from(JSON.stringify(statement)), PAYLOAD_TYPE_INTOTO, [await readSigner(KEY)]);
  await writeFile(target, envelopeToJSON(signed) + '\n');
  return target;
}

/**
 * A fresh case folder: `scratch/` (where the attacked command may write: out, store, TMPDIR)
 * beside `outside/` (a secret the `..` attacks aim at). `untouched()` asserts that nothing
 * outside scratch changed and that the temp folder was left empty.
 */
async function attackCase(name: string) {
  const base = join(world.dir, name);
  const scratch = join(base, 'scratch');
  const tmp = join(scratch, 'tmp');
  const outside = join(base, 'outside');
  await mkdir(tmp, { recursive: true });
  await mkdir(outside, { recursive: true });
  await writeFile(join(outside, 'secret.txt'), 'the auditor’s secret\n');
  const before = await listTree(outside);
  const siblings = await readdir(world.dir);
  return {
    scratch,
    tmp,
    out: join(scratch, 'out'),
    env: { TMPDIR: tmp, KILN_STORE: join(scratch, 'store') },
    async untouched() {
      assert.equal(await listTree(outside), before, 'nothing outside scratch changed');
      assert.equal(await readdir(tmp), [], 'the temp folder is left empty');
      assert.equal(await readdir(world.dir), siblings, 'no new folder beside the case');
    },
  };
}

/** Runs `fn` with TMPDIR pointing into the case's scratch (os.tmpdir() reads it on each call). */
async function inScratch<T>(tmp: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

const forged = suite('forged provenance, signed by a trusted builder key');

forged.before(async () => {
  const { dir, cleanup } = await makeTempDir('kiln-forged-');
  Object.assign(world, { dir, cleanup });
  const out = join(dir, 'original');
  world.summary = await build({ recipe: join(root, 'examples', 'hello'), out, store: await createStore({ root: join(dir, 'store-original') }), attest: { signKey: KEY } });
  world.provenance = join(out, 'hello.intoto.jsonl');
  world.artifact = join(out, world.summary.artifacts[0]!.name);
  // An honest rebuilder's PASSED verdict on the original provenance (the rebuilder key is the example key too).
  const honest = await rebuild({
    provenance: world.provenance,
    keys: [PUB],
    inputs: { src: SRC },
    signKey: KEY,
    rebuilderId: 'https://rebuilder.example.org/honest',
    out: join(dir, 'honest'),
    store: await createStore({ root: join(dir, 'store-honest') }),
  });
  assert.is(honest.verdict, 'PASSED');
  world.vsa = honest.vsa.file;
});

forged.after(async () => world.cleanup());

forged('one subject name twice (the second digest never built): refused, exit 1, check subject-names, no step run, nothing written', async () => {
  const c = await attackCase('duplicate');
  const bad = await forge(join(c.scratch, 'dup.intoto.jsonl'), (s) => {
    s.subject.push({ name: s.subject[0].name, digest: { sha256: 'f'.repeat(64), sha512: 'e'.repeat(128) } });
  });
  const events: BuildEvent[] = [];
  const err = await inScratch(c.tmp, () =>
    rejectsWithCode<RebuildError>(
      () => rebuild({ provenance: bad, keys: [PUB], inputs: { src: SRC }, signKey: KEY, out: c.out, store: undefined, reporter: (e) => events.push(e) }),
      'KILN_REBUILD_BAD_SUBJECTS',
    ),
  );
  assert.ok(err instanceof RebuildError);
  assert.is(err.exitCode, 1);
  assert.is(err.check, 'subject-names');
  assert.match(err.message, /repeated: "hello-1\.0\.0\.tar\.gz"/);
  assert.is(events.length, 0, 'no step ran');
  assert.not.ok(existsSync(c.out), 'no output folder');
  await c.untouched();

  // kiln verify refuses the same provenance by the same named check, exit 1.
  const verified = await runKiln([`verify`, world.artifact, '--provenance', bad, '--key', PUB, '--json'], c.env);
  assert.is(verified.code, 1, verified.stderr);
  const report = JSON.parse(verified.stdout);
  assert.is(report.checks.find((x: any) => x.name === 'subject-names').passed, false);
});

forged('a subject named ../../outside/secret.txt: refused naming the subject, the secret never read or copied', async () => {
  const c = await attackCase('climb');
  const bad = await forge(join(c.scratch, 'climb.intoto.jsonl'), (s) => {
    s.subject.push({ name: '../../outside/secret.txt', digest: { sha256: 'f'.repeat(64) } });
  });
  const r = await runKiln(['rebuild', bad, '--key', PUB, '--input', `src=${SRC}`, '--out', c.out, '--original', c.scratch, '--json'], c.env);
  assert.is(r.code, 1, r.stderr);
  const error = JSON.parse(r.stdout).error;
  assert.is(error.code, 'KILN_REBUILD_BAD_SUBJECTS');
  assert.is(error.check, 'subject-names');
  assert.match(error.message, /"\.\.\/\.\.\/outside\/secret\.txt" has a "\.\." path segment/);
  assert.not.ok(existsSync(c.out));
  await c.untouched();
});

forged('garbage signatures: exit 1 with the key (check signature), exit 2 with no trust at all, before any step', async () => {
  const c = await attackCase('garbage');
  const line = (await readFile(world.provenance, 'utf8')).split('\n')[0]!;
  const envelope = envelopeFromJSON(line);
  const garbage = join(c.scratch, 'garbage.intoto.jsonl');
  await writeFile(garbage, envelopeToJSON({ ...envelope, signatures: [{ keyid: envelope.signatures[0]!.keyid, sig: Buffer.alloc(64, 7).toString('base64') }] }) + '\n');

  const keyed = await runKiln(['rebuild', garbage, '--key', PUB, '--input', `src=${SRC}`, '--out', c.out, '--json'], c.env);
  assert.is(keyed.code, 1, keyed.stderr);
  assert.is(JSON.parse(keyed.stdout).error.code, 'KILN_REBUILD_UNTRUSTED');
  assert.is(JSON.parse(keyed.stdout).error.check, 'signature');

  const none = await runKiln(['rebuild', garbage, '--input', `src=${SRC}`, '--out', c.out, '--json'], c.env);
  assert.is(none.code, 2, none.stderr);
  assert.is(JSON.parse(none.stdout).error.code, 'KILN_REBUILD_NO_TRUST');
  assert.match(none.stderr, /--insecure-ignore-signature/);

  const signing = await runKiln(['rebuild', garbage, '--insecure-ignore-signature', '--sign-key', KEY, '--input', `src=${SRC}`, '--out', c.out, '--json'], c.env);
  assert.is(signing.code, 2, signing.stderr);
  assert.is(JSON.parse(signing.stdout).error.code, 'KILN_REBUILD_UNVERIFIED_SIGN');
  const both = await runKiln(['rebuild', garbage, '--insecure-ignore-signature', '--key', PUB, '--input', `src=${SRC}`, '--out', c.out, '--json'], c.env);
  assert.is(both.code, 2, both.stderr);
  assert.is(JSON.parse(both.stdout).error.code, 'KILN_USAGE');
  assert.not.match(both.stderr, /WARNING/, 'no warning about a rebuild that is refused');
  await rejectsWithCode(() => rebuild({ provenance: garbage, insecureIgnoreSignature: true, trustedRoot: PUB }), 'KILN_USAGE');
  assert.not.ok(existsSync(c.out));
  await c.untouched();
});

forged('--insecure-ignore-signature on a forged provenance (extra subject, garbage signature): warns, rebuilds, FAILED on subjects-one-to-one, signs nothing even with KILN_SIGN_KEY set', async () => {
  const c = await attackCase('insecure');
  const statementOnly = join(c.scratch, 'extra.intoto.jsonl');
  await forge(statementOnly, (s) => s.subject.push({ name: 'extra.tar.gz', digest: { sha256: 'f'.repeat(64), sha512: 'e'.repeat(128) } }));
  const envelope = envelopeFromJSON((await readFile(statementOnly, 'utf8')).trim());
  await writeFile(statementOnly, envelopeToJSON({ ...envelope, signatures: [{ keyid: '', sig: Buffer.alloc(64, 1).toString('base64') }] }) + '\n');

  const r = await runKiln(['rebuild', statementOnly, '--insecure-ignore-signature', '--input', `src=${SRC}`, '--out', c.out], { ...c.env, KILN_SIGN_KEY: KEY });
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /WARNING: --insecure-ignore-signature/);
  assert.match(r.stdout, /✗ subjects-one-to-one .*not rebuilt: "extra\.tar\.gz"/);
  assert.match(r.stdout, /UNVERIFIED PROVENANCE/);
  const files = await readdir(c.out);
  assert.not.ok(files.some((f) => f.endsWith('.intoto.jsonl') || f.endsWith('.sigstore.json')), `nothing signed: ${files.join(', ')}`);
  const vsa = JSON.parse(await readFile(join(c.out, 'hello.vsa.statement.json'), 'utf8'));
  assert.is(vsa.signed, false);
  assert.is(vsa.provenanceVerified, false);
  assert.is(vsa.statement.predicate.verificationResult, 'FAILED');
  await c.untouched();
});

forged('kiln verify --rebuilds: the honest verdict counts for its own provenance, not for another provenance of the same artifact', async () => {
  const c = await attackCase('other-provenance');
  const args = (provenance: string) => ['verify', world.artifact, '--provenance', provenance, '--key', PUB, '--rebuilds', world.vsa, '--rebuilder-key', PUB, '--json'];
  const honest = await runKiln(args(world.provenance), c.env);
  assert.is(honest.code, 0, honest.stdout + honest.stderr);

  // Same artifact, same builder key, other claims: a policy on this provenance must not be
  // satisfied by a rebuild of the first one.
  const other = await forge(join(c.scratch, 'other.intoto.jsonl'), (s) => {
    s.predicate.runDetails.metadata.invocationId = 'urn:uuid:00000000-0000-0000-0000-000000000000';
  });
  const r = await runKiln(args(other), c.env);
  assert.is(r.code, 1, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout);
  assert.is(report.checks.find((x: any) => x.name === 'signature').passed, true, 'the provenance itself verifies');
  assert.is(report.checks.find((x: any) => x.name === 'rebuilds').passed, false);
  assert.match(report.checks.find((x: any) => x.name.startsWith('rebuild:')).reason, /another provenance/);
  await c.untouched();
});

forged('escape sequences in subject names and claims reach no terminal raw; --json keeps them exact', async () => {
  const c = await attackCase('injection');
  const bad = await forge(join(c.scratch, 'ansi.intoto.jsonl'), (s) => {
    s.subject[0].name = `hello${INJECTION}`;
    s.predicate.runDetails.builder.id = `https://builder.example.org/${INJECTION}`;
  });
  const raw = /[\x1b\r]/;
  const inspect = await runKiln(['inspect', bad, '--key', PUB], c.env);
  assert.is(inspect.code, 0, inspect.stderr);
  assert.not.match(inspect.stdout, raw, 'inspect shows no raw escape');
  assert.ok(inspect.stdout.includes('hello\\x1b[2K\\x0d✓ PASSED'), inspect.stdout);
  const inspectJson = JSON.parse((await runKiln(['inspect', bad, '--json'], c.env)).stdout);
  assert.is(inspectJson.envelopes[0].subjects[0].name, `hello${INJECTION}`, '--json is exact');

  const verify = await runKiln(['verify', world.artifact, '--provenance', bad, '--key', PUB], c.env);
  assert.is(verify.code, 1, verify.stderr);
  assert.not.match(verify.stdout + verify.stderr, raw, 'verify shows no raw escape');
  assert.match(verify.stdout, /^✗ subject-names /m);
  assert.match(verify.stdout, /^FAILED/m);
  const verifyJson = JSON.parse((await runKiln(['verify', world.artifact, '--provenance', bad, '--key', PUB, '--json'], c.env)).stdout);
  assert.ok(verifyJson.checks.find((x: any) => x.name === 'builder-id').reason.includes(INJECTION), '--json is exact');

  const rebuilt = await runKiln(['rebuild', bad, '--key', PUB, '--input', `src=${SRC}`, '--out', c.out], c.env);
  assert.is(rebuilt.code, 1, rebuilt.stderr);
  assert.not.match(rebuilt.stdout + rebuilt.stderr, raw, 'rebuild shows no raw escape');
  assert.match(rebuilt.stderr, /subject-names/);
  await c.untouched();
});

forged.run();
