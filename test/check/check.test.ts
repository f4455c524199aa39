import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { check, diffCheck, runCheck, toCheckStatement, PREDICATE_KILN_CHECK_V1, type CheckResult } from '../../src/check/index.js';
import { createStore } from '../../src/store/index.js';
import { lockRecipe } from '../../src/lock/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { sri, writeRecipe } from '../helpers/recipes.js';

// Real Docker: each check runs several builds of a one-step busybox recipe.

async function checkRecipe(dir: string, body: string, variations?: string[]): Promise<CheckResult> {
  const recipe = await writeRecipe(join(dir, 'recipe'), body);
  const store = await createStore({ root: join(dir, 'store') });
  const run = await runCheck({ recipe, store, ...(variations && { variations }) });
  try {
    await diffCheck(run);
    return run.result;
  } finally {
    await run.cleanup();
  }
}

const verdictOf = (r: CheckResult, name: string) => r.variations.find((v) => v.name === name)!;

const checkSuite = suite('check');

checkSuite('a step that writes only its input reproduces under every variation: 3 builds, the result and a signed statement written', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeRecipe(join(dir, 'recipe'), `inputs:\n  data: { path: data.txt, integrity: "${sri('hello\n')}" }\nsteps:\n  copy:\n    image: base\n    inputs: [data]\n    run: cp /kiln/inputs/data $KILN_OUT/data.txt\nartifacts:\n  - { from: copy, path: data.txt }\n`);
    await writeFile(join(dir, 'recipe', 'data.txt'), 'hello\n');
    const { writeKeyPair, envelopeFromJSON, readTrustedKey, verifyEnvelopeSignatures, decodePayload, statementFromPayload } = await import('../../src/attest/index.js');
    const keys = await writeKeyPair(join(dir, 'key'));
    const store = await createStore({ root: join(dir, 'store') });
    const report = await check({ recipe: join(dir, 'recipe'), out: join(dir, 'check'), signKey: keys.privateKeyFile, store });
    assert.ok(report.signed);
    assert.equal(report.files, [join(dir, 'check', 'test.check.json'), join(dir, 'check', 'test.check.intoto.jsonl')]);
    const result = JSON.parse(await readFile(join(dir, 'check', 'test.check.json'), 'utf8')) as CheckResult;
    assert.is(result.recipe.digest, report.result.recipe.digest);
    assert.is(result.verdict, 'reproducible');
    assert.is(result.builds, 3);
    assert.ok(result.variations.filter((v) => v.name !== 'kernel').every((v) => v.verdict === 'same' || (v.name === 'num_cpus' && v.verdict === 'skipped')));
    assert.is(verdictOf(result, 'kernel').verdict, 'skipped');
    const envelope = envelopeFromJSON((await readFile(join(dir, 'check', 'test.check.intoto.jsonl'), 'utf8')).trim());
    assert.ok(verifyEnvelopeSignatures(envelope, [await readTrustedKey(keys.publicKeyFile)]).validKeyids.length > 0);
    const statement = statementFromPayload(decodePayload(envelope));
    assert.is(statement.predicateType, PREDICATE_KILN_CHECK_V1);
    assert.equal(statement.subject.map((s) => s.name), ['data.txt']);
    assert.is((statement.predicate as { verdict: string }).verdict, 'reproducible');
    assert.is((statement.predicate as { recipe: { digest: string } }).recipe.digest, result.recipe.digest);
  } finally {
    await cleanup();
  }
});

checkSuite('each probe is flagged with the variation that changes it', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const result = await checkRecipe(dir, `steps:
  probes:
    image: base
    run: |
      hostname > $KILN_OUT/hostname.txt
      id -u > $KILN_OUT/uid.txt
      pwd > $KILN_OUT/pwd.txt
      nproc > $KILN_OUT/nproc.txt
      date +%H:%M:%S > $KILN_OUT/time.txt
      date -d @1700000000 > $KILN_OUT/tz.txt
      env | sort > $KILN_OUT/env.txt
      mkdir d; i=0; while [ $i -lt 300 ]; do touch d/f$i; i=$((i+1)); done; find d > $KILN_OUT/listing.txt
      cp /kiln/inputs/rootfs $KILN_OUT/stable.tar
    inputs: [rootfs]
artifacts:
  - { from: probes, path: "*" }
`);
    assert.is(result.verdict, 'sensitive', `controls differ on ${result.controls.differing.join(', ')}`);
    assert.ok(result.controls.identical);
    const expect: Record<string, string> = {
      'hostname.txt': 'domain_host', 'uid.txt': 'user_group', 'pwd.txt': 'build_path', 'nproc.txt': 'num_cpus',
      'time.txt': 'time', 'tz.txt': 'timezone', 'listing.txt': 'fileordering',
    };
    for (const [artifact, variation] of Object.entries(expect)) {
      assert.ok(verdictOf(result, variation).differing.includes(artifact), `${variation} should change ${artifact}`);
      const blamed = result.variations.filter((v) => v.differing.includes(artifact)).map((v) => v.name);
      assert.equal(blamed, [variation], `${artifact} is blamed on ${blamed.join(', ')}`);
    }
    assert.ok(verdictOf(result, 'environment').differing.includes('env.txt'));
    assert.ok(!result.variations.some((v) => v.differing.includes('stable.tar')));
    assert.is(verdictOf(result, 'umask').verdict, 'same');
    assert.is(verdictOf(result, 'kernel').verdict, 'skipped');
    // Culprits carry kiln diff's classification.
    assert.equal(result.culprits.find((c) => c.variations[0] === 'domain_host')?.classes?.['hostname.txt']?.content, 1);
  } finally {
    await cleanup();
  }
});

checkSuite('random bytes make the build not deterministic, not sensitive to a variation', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const result = await checkRecipe(dir, `steps:\n  rand:\n    image: base\n    run: head -c 32 /dev/urandom > $KILN_OUT/random.bin\nartifacts:\n  - { from: rand, path: random.bin }\n`, ['time', 'domain_host']);
    assert.is(result.verdict, 'not-deterministic');
    assert.equal(result.controls.differing, ['random.bin']);
    assert.is(result.culprits.length, 0);
  } finally {
    await cleanup();
  }
});

checkSuite('a step that honours SOURCE_DATE_EPOCH and sorts its listings passes', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const result = await checkRecipe(dir, `steps:
  good:
    image: base
    run: |
      date -u -d @$SOURCE_DATE_EPOCH +%Y-%m-%dT%H:%M:%S > $KILN_OUT/stamp.txt
      mkdir d; i=0; while [ $i -lt 300 ]; do touch d/f$i; i=$((i+1)); done; find d | sort > $KILN_OUT/listing.txt
artifacts:
  - { from: good, path: "*.txt" }
`);
    assert.is(result.verdict, 'reproducible');
    assert.is(result.builds, 3);
  } finally {
    await cleanup();
  }
});

checkSuite('a difference that only two variations together make is found by bisection', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const result = await checkRecipe(dir, `steps:
  both:
    image: base
    run: |
      if [ "$TZ" != UTC ] && [ "$(id -u)" != 1000 ]; then echo both; else echo one; fi > $KILN_OUT/out.txt
artifacts:
  - { from: both, path: out.txt }
`, ['timezone', 'user_group', 'home', 'umask']);
    assert.is(result.verdict, 'sensitive');
    assert.ok(result.variations.every((v) => v.verdict === 'same'));
    assert.equal(result.culprits.map((c) => [...c.variations].sort()), [['timezone', 'user_group']]);
    assert.equal(result.unexplained, []);
  } finally {
    await cleanup();
  }
});

// The corpus of the issue "kiln check finds what reprotest finds", in one step on an image of
// this host's glibc programs (so libfaketime can be preloaded): three outputs a build script
// makes non-reproducible on its own, and five it makes reproducible. The controls start on one
// second boundary, so the two tars' real mtimes agree between them.
const CORPUS = `inputs:
  x: { path: x }
steps:
  corpus:
    image: base
    inputs: [x]
    run: |
      mkdir d && echo a > d/a && echo hi > g
      tar -cf $KILN_OUT/mtime.tar d
      gzip -c g > $KILN_OUT/stamp.gz
      find /kiln/inputs/x -type f > $KILN_OUT/input-listing.txt
      find /kiln/inputs/x -type f | sort > $KILN_OUT/sorted-listing.txt
      date -u -d @$SOURCE_DATE_EPOCH +%Y-%m-%dT%H:%M:%S > $KILN_OUT/sde.txt
      tar --sort=name --mtime=@$SOURCE_DATE_EPOCH --owner=0 --group=0 --numeric-owner --mode=go-w -cf $KILN_OUT/canonical.tar d
      gzip -n -c g > $KILN_OUT/canonical.gz
      cp /kiln/inputs/x/f1 $KILN_OUT/copy.txt
artifacts:
  - { from: corpus, path: "*" }
`;
const REPRODUCIBLE = ['canonical.gz', 'canonical.tar', 'copy.txt', 'sde.txt', 'sorted-listing.txt'];

async function checkCorpus(dir: string, raw: boolean): Promise<CheckResult> {
  const recipe = await writeRecipe(join(dir, 'recipe'), CORPUS, { rootfs: 'host' });
  await mkdir(join(dir, 'recipe', 'x'));
  for (let i = 0; i < 300; i++) await writeFile(join(dir, 'recipe', 'x', `f${i}`), `${i}\n`);
  const store = await createStore({ root: join(dir, 'store') });
  await lockRecipe(recipe, { store });
  const run = await runCheck({ recipe, store, raw });
  try {
    await diffCheck(run);
    return run.result;
  } finally {
    await run.cleanup();
  }
}

function assertNoFalseAlarm(result: CheckResult): void {
  assert.ok(result.controls.identical, `controls differ on ${result.controls.differing.join(', ')}`);
  for (const v of result.variations) for (const a of REPRODUCIBLE) assert.not.ok(v.differing.includes(a), `${v.name} blamed for ${a}`);
  for (const a of REPRODUCIBLE) assert.not.ok(result.unexplained.includes(a), `${a} unexplained`);
  assert.is(verdictOf(result, 'time').method, 'libfaketime+later-run', 'the injected libfaketime shifted the clock');
  assert.is(verdictOf(result, 'fileordering').method, 'tmpfs-scratch+tmpfs-mounts');
}

checkSuite('the corpus, as kiln keeps outputs: only the unsorted input listing is flagged, with fileordering; archives kiln normalizes pass', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const result = await checkCorpus(dir, false);
    assert.is(result.mode, 'normalized');
    assertNoFalseAlarm(result);
    assert.equal(result.culprits.map((c) => [c.variations, c.artifacts]), [[['fileordering'], ['input-listing.txt']]]);
    assert.equal(result.unexplained, []);
  } finally {
    await cleanup();
  }
});

checkSuite('the corpus with --raw: the tar of current mtimes and the stamped gzip are flagged with time, the unsorted input listing with fileordering', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const result = await checkCorpus(dir, true);
    assert.is(result.mode, 'raw');
    assertNoFalseAlarm(result);
    assert.equal(verdictOf(result, 'time').differing, ['mtime.tar', 'stamp.gz']);
    assert.equal(verdictOf(result, 'fileordering').differing, ['input-listing.txt']);
    assert.equal(result.unexplained, []);
    // The statement records the mode and how each variation was applied.
    const statement = toCheckStatement(result, [], '0.0.0');
    assert.is(statement.predicate.mode, 'raw');
    assert.is(statement.predicate.variations.find((v) => v.name === 'time')?.method, 'libfaketime+later-run');
    assert.match(statement.predicate.variations.find((v) => v.name === 'time')?.methodDetail ?? '', /injected/);
  } finally {
    await cleanup();
  }
});

checkSuite('a recipe pinned by its kiln.lock is checked as kiln build builds it; --locked without a lock is refused before any build', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const recipe = await writeRecipe(join(dir, 'recipe'), `inputs:\n  data: { path: data.txt }\nsteps:\n  copy:\n    image: base\n    inputs: [data]\n    run: cp /kiln/inputs/data $KILN_OUT/data.txt\nartifacts:\n  - { from: copy, path: data.txt }\n`);
    await writeFile(join(dir, 'recipe', 'data.txt'), 'hello\n');
    const store = await createStore({ root: join(dir, 'store') });
    await rejectsWithCode(() => runCheck({ recipe, store, locked: true, variations: ['domain_host'] }), 'KILN_LOCK_MISSING');
    await rejectsWithCode(() => runCheck({ recipe, store, variations: ['domain_host'] }), 'KILN_RECIPE_UNPINNED');
    await lockRecipe(recipe, { store });
    const run = await runCheck({ recipe, store, locked: true, variations: ['domain_host'] });
    try {
      assert.is(run.result.verdict, 'reproducible');
      assert.equal(run.result.controls.artifacts.map((a) => a.name), ['data.txt']);
    } finally {
      await run.cleanup();
    }
  } finally {
    await cleanup();
  }
});

checkSuite.run();
