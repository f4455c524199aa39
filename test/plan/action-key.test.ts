import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { computeActionKey, type ActionKeyMaterial } from '../../src/plan/index.js';
import { sha256Digest } from '../../src/util/digest.js';

const base = (): ActionKeyMaterial => ({
  kiln: 'action-key/v1',
  image: { kind: 'tree', tree: sha256Digest('image') },
  argv: ['/bin/sh', '-e', '-c', 'umask 0022\necho hi > $KILN_OUT/x'],
  env: { A: '1', SOURCE_DATE_EPOCH: '1700000000' },
  user: '1000:1000',
  inputs: { src: { kind: 'tree', tree: sha256Digest('src') } },
  needs: { compile: sha256Digest('compile-out') },
  sourceDateEpoch: 1700000000,
  platform: 'linux/amd64',
  sandboxProfile: sha256Digest('profile'),
  normalize: 'normalize/v1',
});

const key = suite('computeActionKey');

key('is a sha256 digest and stable for equal material', () => {
  const a = computeActionKey(base());
  assert.match(a, /^sha256:[0-9a-f]{64}$/);
  assert.is(computeActionKey(base()), a);
});

key('does not depend on the order object keys were written in', () => {
  const m = base();
  const reordered = { ...m, env: { SOURCE_DATE_EPOCH: '1700000000', A: '1' } };
  assert.is(computeActionKey(reordered), computeActionKey(m));
});

// Each thing that can change a step's result must change the key.
const changes: Array<[string, (m: ActionKeyMaterial) => void]> = [
  ['the image', (m) => { m.image = { kind: 'tree', tree: sha256Digest('other') }; }],
  ['the script', (m) => { m.argv = [...m.argv.slice(0, 3), 'echo bye']; }],
  ['the shell', (m) => { m.argv = ['/bin/bash', ...m.argv.slice(1)]; }],
  ['an env value', (m) => { m.env = { ...m.env, A: '2' }; }],
  ['the user', (m) => { m.user = '0:0'; }],
  ['an input digest', (m) => { m.inputs = { src: { kind: 'tree', tree: sha256Digest('src2') } }; }],
  ['an input name (its mount path)', (m) => { m.inputs = { source: m.inputs.src! }; }],
  ['an input file exec bit', (m) => { m.inputs = { f: { kind: 'file', digest: sha256Digest('f'), size: 1, executable: true } }; }],
  ['a needed output tree', (m) => { m.needs = { compile: sha256Digest('other-out') }; }],
  ['SOURCE_DATE_EPOCH', (m) => { m.sourceDateEpoch = 1; }],
  ['the platform', (m) => { m.platform = 'linux/arm64'; }],
  ['the sandbox profile', (m) => { m.sandboxProfile = sha256Digest('profile2'); }],
  ['normalization', (m) => { m.normalize = false; }],
];
for (const [what, change] of changes) {
  key(`changes when ${what} changes`, () => {
    const m = base();
    change(m);
    assert.is.not(computeActionKey(m), computeActionKey(base()));
  });
}

key.run();
