import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mergeDebianTrees, mergedUsrLinks, mergedUsrPath, packageLists } from '../../src/image/index.js';
import type { DebianPackagePin } from '../../src/recipe/index.js';
import { validateTreeManifest } from '../../src/store/validate.js';
import type { TreeManifest } from '../../src/store/tree.js';

const D1 = `sha256:${'1'.repeat(64)}` as const;
const D2 = `sha256:${'2'.repeat(64)}` as const;

const tree = (entries: TreeManifest['entries']): TreeManifest => ({ kiln: 'tree/v1', entries });

const paths = suite('mergedUsrPath');

paths('moves /bin, /sbin, /lib* below usr and drops the top folder itself', () => {
  assert.is(mergedUsrPath('bin/sh'), 'usr/bin/sh');
  assert.is(mergedUsrPath('lib64/ld-linux-x86-64.so.2'), 'usr/lib64/ld-linux-x86-64.so.2');
  assert.is(mergedUsrPath('bin'), undefined);
  assert.is(mergedUsrPath('binaries/x'), 'binaries/x');
  assert.is(mergedUsrPath('etc/passwd'), 'etc/passwd');
});

const merge = suite('mergeDebianTrees');

merge('merges packages into a valid merged-/usr tree with the top-level links', () => {
  const a = tree([
    { path: 'bin', type: 'dir' },
    { path: 'bin/dash', type: 'file', mode: 0o755, digest: D1, size: 1 },
    { path: 'bin/sh', type: 'symlink', target: 'dash' },
  ]);
  const b = tree([
    { path: 'usr', type: 'dir' },
    { path: 'usr/bin', type: 'dir' },
    { path: 'usr/bin/hello', type: 'file', mode: 0o755, digest: D2, size: 2 },
  ]);
  const merged = validateTreeManifest(mergeDebianTrees([{ package: 'dash', manifest: a }, { package: 'hello', manifest: b }]));
  const byPath = new Map(merged.entries.map((e) => [e.path, e]));
  assert.equal(byPath.get('bin'), { path: 'bin', type: 'symlink', target: 'usr/bin' });
  assert.equal(byPath.get('sbin'), { path: 'sbin', type: 'symlink', target: 'usr/sbin' });
  assert.is(byPath.get('usr/bin/dash')?.type, 'file');
  assert.is(byPath.get('usr/bin/hello')?.type, 'file');
  assert.not.ok(byPath.has('lib32'), 'an unused multilib folder gets no link');
});

merge('a later package replaces a file, never a folder', () => {
  const a = tree([{ path: 'etc', type: 'dir' }, { path: 'etc/x', type: 'file', mode: 0o644, digest: D1, size: 1 }, { path: 'etc/d', type: 'dir' }]);
  const b = tree([{ path: 'etc', type: 'dir' }, { path: 'etc/x', type: 'file', mode: 0o644, digest: D2, size: 2 }, { path: 'etc/d', type: 'symlink', target: 'x' }]);
  const merged = mergeDebianTrees([{ package: 'a', manifest: a }, { package: 'b', manifest: b }]);
  const byPath = new Map(merged.entries.map((e) => [e.path, e]));
  assert.is((byPath.get('etc/x') as { digest: string }).digest, D2);
  assert.is(byPath.get('etc/d')?.type, 'dir');
});

merge('extra entries get their parent folders', () => {
  const merged = validateTreeManifest(mergeDebianTrees([], [{ path: 'var/cache/kiln-debs/dpkg.deb', type: 'file', mode: 0o644, digest: D1, size: 1 }]));
  assert.ok(merged.entries.some((e) => e.path === 'var/cache' && e.type === 'dir'));
});

const links = suite('mergedUsrLinks');

links('bin, lib and sbin always; lib32, lib64, libx32 only when a package ships something below', () => {
  assert.equal(mergedUsrLinks([]), ['bin', 'lib', 'sbin']);
  const p = tree([{ path: 'lib64', type: 'dir' }, { path: 'lib64/ld.so', type: 'symlink', target: '/lib/ld.so' }, { path: 'lib32', type: 'dir' }]);
  assert.equal(mergedUsrLinks([{ package: 'libc6', manifest: p }]), ['bin', 'lib', 'lib64', 'sbin']);
});

const lists = suite('packageLists');

lists('splits the required set from the rest, each sorted', () => {
  const p = (name: string, req: boolean): { pin: DebianPackagePin } => ({ pin: { package: name, version: '1', arch: 'amd64', integrity: 'sha256-x', size: 1, required: req } });
  assert.equal(packageLists([p('tar', true), p('hello', false), p('dpkg', true), p('gcc', false)]), { required: ['dpkg', 'tar'], rest: ['gcc', 'hello'] });
});

paths.run();
merge.run();
links.run();
lists.run();
