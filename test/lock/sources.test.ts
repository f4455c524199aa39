import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { applyLock, lockRecipe, lockToText, parseLock, specsDigest, type Lock } from '../../src/lock/index.js';
import { parseRecipe } from '../../src/recipe/index.js';
import { createStore } from '../../src/store/index.js';
import { npmTarball, startNpmRegistry, useRegistry } from '../fetch/npm-registry.js';
import { makeTempDir, throwsWithCode } from '../helpers/index.js';

const TEXT = `kiln: 1
name: t
sourceDateEpoch: 0
inputs:
  busybox:
    deb: busybox-static=1:1.35.0-4
images:
  i: { oci: "example.org/i@sha256:${'a'.repeat(64)}" }
steps:
  s: { image: i, inputs: [busybox], run: "true" }
artifacts: [{ from: s, path: x }]
`;
const INTEGRITY = `sha256-${'A'.repeat(43)}=`;
const SNAPSHOT = { archive: 'debian', path: 'pool/main/b/busybox/busybox-static_1.35.0-4_amd64.deb', resolved: '2025-06-01T12:00:00Z' };

function lockText(entry: Record<string, unknown>): string {
  const recipe = parseRecipe(TEXT, '/r/kiln.yaml', { allowUnpinned: true });
  const lock = {
    kiln: 'lock/v1',
    recipe: { specs: specsDigest(recipe) },
    inputs: { busybox: { kind: 'deb', source: { deb: 'busybox-static=1:1.35.0-4', arch: 'amd64' }, integrity: INTEGRITY, ...entry } },
    images: { i: { oci: `example.org/i@sha256:${'a'.repeat(64)}` } },
  } as Lock;
  return lockToText(lock);
}

const Parse = suite('parseLock: mirror keys and snapshot coordinates');

Parse('reads a sha256 and snapshot coordinates', () => {
  const lock = parseLock(lockText({ sha256: 'b'.repeat(64), snapshot: SNAPSHOT }), '/r/kiln.lock');
  assert.equal(lock.inputs.busybox!.snapshot, SNAPSHOT);
});

Parse('refuses a sha256 that is not hex and coordinates that would leave the archive', () => {
  throwsWithCode(() => parseLock(lockText({ sha256: 'xyz' }), '/r/kiln.lock'), 'KILN_LOCK_INVALID');
  throwsWithCode(() => parseLock(lockText({ snapshot: { ...SNAPSHOT, path: 'pool/../../etc/passwd' } }), '/r/kiln.lock'), 'KILN_LOCK_INVALID');
  throwsWithCode(() => parseLock(lockText({ snapshot: { ...SNAPSHOT, host: 'example.org' } }), '/r/kiln.lock'), 'KILN_LOCK_INVALID');
});

const Apply = suite('applyLock: where else the bytes are');

Apply('carries the sha256 and the snapshot coordinates into the pinned input', () => {
  const recipe = parseRecipe(TEXT, '/r/kiln.yaml', { allowUnpinned: true });
  const text = lockText({ sha256: 'b'.repeat(64), snapshot: SNAPSHOT });
  const pinned = applyLock(recipe, { file: '/r/kiln.lock', text, lock: parseLock(text, '/r/kiln.lock') });
  const input = pinned.inputs.busybox!;
  assert.ok(input.kind === 'deb' && input.sha256 === 'b'.repeat(64));
  assert.equal(input.kind === 'deb' && input.snapshot, SNAPSHOT);
});

Apply('a pin written in the recipe that differs from the lock\'s gets none of them', () => {
  const written = TEXT.replace('deb: busybox-static=1:1.35.0-4', `deb: busybox-static=1:1.35.0-4\n    integrity: sha256-${'C'.repeat(42)}A=`);
  const recipe = parseRecipe(written, '/r/kiln.yaml', { allowUnpinned: true });
  const lock = JSON.parse(lockText({ snapshot: SNAPSHOT })) as Lock;
  lock.recipe.specs = specsDigest(recipe);
  lock.inputs.busybox!.source = { ...lock.inputs.busybox!.source, integrity: `sha256-${'C'.repeat(42)}A=` };
  const text = lockToText(lock);
  const pinned = applyLock(recipe, { file: '/r/kiln.lock', text, lock: parseLock(text, '/r/kiln.lock') });
  assert.is((pinned.inputs.busybox as { snapshot?: unknown }).snapshot, undefined);
});

const Npm = suite('kiln lock: npm pins get a sha256');

Npm('the registry\'s sha512 is kept and the sha256 of the same bytes recorded beside it', async () => {
  const { dir, cleanup } = await makeTempDir();
  const registry = await startNpmRegistry('left-pad', ['1.3.0']);
  const restore = useRegistry(registry.url, dir);
  try {
    const recipeDir = join(dir, 'r');
    await mkdir(recipeDir);
    await writeFile(join(recipeDir, 'kiln.yaml'), `kiln: 1\nname: n\nsourceDateEpoch: 0\ninputs:\n  lp:\n    npm: left-pad@^1.0.0\nimages:\n  i: { oci: "example.org/i@sha256:${'a'.repeat(64)}" }\nsteps:\n  s: { image: i, inputs: [lp], run: "true" }\nartifacts: [{ from: s, path: x }]\n`);
    const { lock } = await lockRecipe(recipeDir, { store: await createStore({ root: join(dir, 'store') }) });
    const entry = lock.inputs.lp!;
    assert.is(entry.integrity, registry.integrity['1.3.0']);
    assert.is(entry.sha256, createHash('sha256').update(await npmTarball('left-pad', '1.3.0')).digest('hex'));
    assert.match(await readFile(join(recipeDir, 'kiln.lock'), 'utf8'), /"sha256": "[0-9a-f]{64}"/);
  } finally {
    restore();
    await registry.close();
    await cleanup();
  }
});

Parse.run();
Apply.run();
Npm.run();
