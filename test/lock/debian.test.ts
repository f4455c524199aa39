import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { applyLock, lockToText, parseLock, specsDigest, type Lock } from '../../src/lock/index.js';
import { parseRecipe } from '../../src/recipe/index.js';
import type { DebianPackagePin } from '../../src/recipe/index.js';
import { throwsWithCode } from '../helpers/index.js';

const TEXT = `kiln: 1
name: t
sourceDateEpoch: 0
images:
  tc:
    debian:
      packages: [hello]
steps:
  s:
    image: tc
    run: hello
artifacts:
  - from: s
    path: x
`;

const PIN: DebianPackagePin = { package: 'hello', version: '2.10-3', arch: 'amd64', integrity: `sha256-${'A'.repeat(43)}=`, size: 53080, required: false };

function lockFor(text: string, debian: Record<string, DebianPackagePin[]>): { file: string; text: string; lock: Lock } {
  const recipe = parseRecipe(text, '/r/kiln.yaml', { allowUnpinned: true });
  const lock: Lock = {
    kiln: 'lock/v1',
    recipe: { specs: specsDigest(recipe) },
    inputs: {},
    images: { tc: { debian: { packages: ['hello'], arch: 'amd64' } } },
    debian,
  };
  const lockText = lockToText(lock);
  return { file: '/r/kiln.lock', text: lockText, lock: parseLock(lockText, '/r/kiln.lock') };
}

const parse = suite('parseRecipe debian image');

parse('reads packages and defaults the architecture; unpinned without a lock', () => {
  const recipe = parseRecipe(TEXT, '/r/kiln.yaml', { allowUnpinned: true });
  const image = recipe.images.tc!;
  assert.is(image.kind, 'debian');
  if (image.kind === 'debian') {
    assert.equal(image.packages, ['hello']);
    assert.is(image.arch, 'amd64');
    assert.equal(image.pins, []);
  }
  throwsWithCode(() => parseRecipe(TEXT, '/r/kiln.yaml'), 'KILN_RECIPE_UNPINNED');
});

parse('refuses an unknown key under debian', () => {
  throwsWithCode(() => parseRecipe(TEXT.replace('packages: [hello]', 'packages: [hello]\n      mirror: x'), '/r/kiln.yaml', { allowUnpinned: true }), 'KILN_RECIPE_UNKNOWN_KEY');
});

const apply = suite('applyLock debian');

apply('pins the image from the lock entry written for the same package list', () => {
  const recipe = parseRecipe(TEXT, '/r/kiln.yaml', { allowUnpinned: true });
  const out = applyLock(recipe, lockFor(TEXT, { tc: [PIN] }), { locked: true });
  const image = out.images.tc!;
  assert.ok(image.kind === 'debian' && image.pins.length === 1 && image.pins[0]!.version === '2.10-3');
});

apply('refuses an image whose package list changed since the lock', () => {
  const changed = TEXT.replace('[hello]', '[hello, make]');
  const recipe = parseRecipe(changed, '/r/kiln.yaml', { allowUnpinned: true });
  throwsWithCode(() => applyLock(recipe, lockFor(TEXT, { tc: [PIN] })), 'KILN_RECIPE_UNPINNED');
  throwsWithCode(() => applyLock(recipe, lockFor(TEXT, { tc: [PIN] }), { locked: true }), 'KILN_LOCK_STALE');
});

apply('refuses a debian image with no lock at all', () => {
  const recipe = parseRecipe(TEXT, '/r/kiln.yaml', { allowUnpinned: true });
  throwsWithCode(() => applyLock(recipe, undefined), 'KILN_RECIPE_UNPINNED');
});

const lockParse = suite('parseLock debian');

lockParse('round-trips the resolved packages', () => {
  const { lock } = lockFor(TEXT, { tc: [PIN] });
  assert.equal(lock.debian, { tc: [PIN] });
});

lockParse('refuses a package pin without integrity', () => {
  const { text } = lockFor(TEXT, { tc: [PIN] });
  const bad = text.replace(/"integrity": "[^"]+",?/, '');
  throwsWithCode(() => parseLock(bad, '/r/kiln.lock'), 'KILN_LOCK_INVALID');
});

parse.run();
apply.run();
lockParse.run();
