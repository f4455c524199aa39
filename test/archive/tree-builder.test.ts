import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTreeBuilder } from '../../src/archive/tree-builder.js';
import type { ArchiveError } from '../../src/archive/errors.js';
import { sha256Digest } from '../../src/util/digest.js';
import { throwsWithCode } from '../helpers/index.js';

const D = sha256Digest('x');
const file = (mode = 0o644) => ({ digest: D, size: 1, mode });

const createTreeBuilderSuite = suite('createTreeBuilder');

createTreeBuilderSuite('sorts entries, adds missing parent folders and strips ./', () => {
  const b = createTreeBuilder({ label: 'src', links: 'contained' });
  b.addFile('./b/c/d.txt', file());
  b.addFile('a', file());
  b.addDir('./');
  const m = b.finish();
  assert.equal(
    m.entries.map((e) => `${e.type}:${e.path}`),
    ['file:a', 'dir:b', 'dir:b/c', 'file:b/c/d.txt'],
  );
  assert.is(m.kiln, 'tree/v1');
});

createTreeBuilderSuite('normalizes modes: any x bit gives 0755, setuid/setgid/sticky never survive', () => {
  const b = createTreeBuilder({ label: 'src', links: 'contained' });
  b.addFile('suid', file(0o4755));
  b.addFile('gx', file(0o2610));
  b.addFile('plain', file(0o1666));
  const modes = Object.fromEntries(b.finish().entries.map((e) => [e.path, e.type === 'file' ? e.mode : -1]));
  assert.equal(modes, { gx: 0o755, plain: 0o644, suid: 0o755 });
});

createTreeBuilderSuite('a later entry with the same path replaces the earlier one', () => {
  const b = createTreeBuilder({ label: 'src', links: 'contained' });
  b.addFile('x', file());
  b.addSymlink('x', 'y');
  b.addDir('d');
  b.addFile('d', file(0o755));
  assert.equal(b.finish().entries, [
    { path: 'd', type: 'file', mode: 0o755, digest: D, size: 1 },
    { path: 'x', type: 'symlink', target: 'y' },
  ]);
});

createTreeBuilderSuite('rejects replacing a folder that has entries with a file or a link', () => {
  const b = createTreeBuilder({ label: 'src', links: 'any' });
  b.addFile('d/f', file());
  const err = throwsWithCode<ArchiveError>(() => b.addFile('d', file()), 'KILN_ARCHIVE_CONFLICT');
  assert.is(err.entry, 'd');
  throwsWithCode(() => b.addSymlink('d', '/elsewhere'), 'KILN_ARCHIVE_CONFLICT');
  throwsWithCode(() => b.addFile('d/f/g', file()), 'KILN_ARCHIVE_CONFLICT');
});

createTreeBuilderSuite('rejects absolute paths, .. components, empty and NUL names, naming entry and label', () => {
  const b = createTreeBuilder({ label: 'src', links: 'any' });
  for (const name of ['/etc/passwd', '../x', 'a/../../x', 'a/..', '', 'a\0b']) {
    const err = throwsWithCode<ArchiveError>(() => b.addFile(name, file()), 'KILN_ARCHIVE_UNSAFE_ENTRY');
    assert.is(err.entry, name);
    assert.is(err.label, 'src');
    assert.ok(err.message.includes('src'));
  }
  assert.equal(b.finish().entries, []);
});

createTreeBuilderSuite('rejects an entry written through a symlinked folder, in both modes', () => {
  for (const links of ['contained', 'any'] as const) {
    const b = createTreeBuilder({ label: 'src', links });
    b.addDir('real');
    b.addSymlink('link', 'real');
    const err = throwsWithCode<ArchiveError>(() => b.addFile('link/evil', file()), 'KILN_ARCHIVE_UNSAFE_ENTRY');
    assert.is(err.entry, 'link/evil');
    throwsWithCode(() => b.addDir('link/sub'), 'KILN_ARCHIVE_UNSAFE_ENTRY');
    assert.equal(b.finish().entries.map((e) => e.path), ['link', 'real']);
  }
});

createTreeBuilderSuite('contained: rejects symlinks that are absolute or climb out from their folder', () => {
  const b = createTreeBuilder({ label: 'src', links: 'contained' });
  b.addSymlink('a/ok', '../b');
  throwsWithCode(() => b.addSymlink('abs', '/etc/passwd'), 'KILN_ARCHIVE_UNSAFE_ENTRY');
  throwsWithCode(() => b.addSymlink('a/up', '../../x'), 'KILN_ARCHIVE_UNSAFE_ENTRY');
  throwsWithCode(() => b.addSymlink('up', '..'), 'KILN_ARCHIVE_UNSAFE_ENTRY');
  throwsWithCode(() => b.addSymlink('empty', ''), 'KILN_ARCHIVE_UNSAFE_ENTRY');
  assert.equal(b.finish().entries, [
    { path: 'a', type: 'dir' },
    { path: 'a/ok', type: 'symlink', target: '../b' },
  ]);
});

createTreeBuilderSuite('contained: rejects a link that escapes only once another link is followed', () => {
  const b = createTreeBuilder({ label: 'src', links: 'contained' });
  b.addSymlink('d/up', '..'); // resolves to the root: fine on its own
  b.addSymlink('e', 'd/up/../..'); // lexically inside, really the root's parent
  const err = throwsWithCode<ArchiveError>(() => b.finish(), 'KILN_ARCHIVE_UNSAFE_ENTRY');
  assert.is(err.entry, 'e');
});

createTreeBuilderSuite('contained: rejects link loops', () => {
  const b = createTreeBuilder({ label: 'src', links: 'contained' });
  b.addSymlink('a', 'b/x');
  b.addSymlink('b', 'a');
  throwsWithCode(() => b.finish(), 'KILN_ARCHIVE_UNSAFE_ENTRY');
});

createTreeBuilderSuite('any: keeps absolute and climbing symlinks as written data', () => {
  const b = createTreeBuilder({ label: 'rootfs', links: 'any' });
  b.addSymlink('bin/sh', '/bin/busybox');
  b.addSymlink('up', '../../..');
  assert.equal(b.finish().entries, [
    { path: 'bin', type: 'dir' },
    { path: 'bin/sh', type: 'symlink', target: '/bin/busybox' },
    { path: 'up', type: 'symlink', target: '../../..' },
  ]);
});

createTreeBuilderSuite('rooted absolute links: accepted inside the tree, .. past the root rejected', () => {
  const b = createTreeBuilder({ label: 'deb', links: 'contained', rootedAbsoluteLinks: true });
  b.addFile('bin/busybox', file(0o755));
  b.addSymlink('usr/bin/sh', '/bin/busybox');
  b.addHardlink('bin/ash', '/bin/busybox');
  throwsWithCode(() => b.addSymlink('x', '/../etc'), 'KILN_ARCHIVE_UNSAFE_ENTRY');
  assert.equal(b.finish().entries.map((e) => e.path), ['bin', 'bin/ash', 'bin/busybox', 'usr', 'usr/bin', 'usr/bin/sh']);
});

createTreeBuilderSuite('hard links copy an earlier file; anything else is rejected', () => {
  const b = createTreeBuilder({ label: 'src', links: 'contained' });
  b.addFile('a', file(0o755));
  b.addHardlink('b', './a');
  b.addDir('d');
  b.addSymlink('s', 'a');
  for (const target of ['later', '../outside', '/a', 'd', 's']) {
    const err = throwsWithCode<ArchiveError>(() => b.addHardlink('bad', target), 'KILN_ARCHIVE_UNSAFE_ENTRY');
    assert.is(err.entry, 'bad');
  }
  const entries = b.finish().entries;
  assert.equal(entries.find((e) => e.path === 'b'), { path: 'b', type: 'file', mode: 0o755, digest: D, size: 1 });
  assert.not.ok(entries.some((e) => e.path === 'bad'));
});

createTreeBuilderSuite('device nodes and FIFOs: an error in contained mode, skipped in any mode', () => {
  const contained = createTreeBuilder({ label: 'src', links: 'contained' });
  const err = throwsWithCode<ArchiveError>(() => contained.addSpecial('dev/null', 'character-device'), 'KILN_ARCHIVE_UNSAFE_ENTRY');
  assert.is(err.entry, 'dev/null');
  throwsWithCode(() => contained.addSpecial('pipe', 'fifo'), 'KILN_ARCHIVE_UNSAFE_ENTRY');
  const any = createTreeBuilder({ label: 'rootfs', links: 'any' });
  any.addDir('dev');
  any.addSpecial('dev/null', 'character-device');
  any.addSpecial('pipe', 'fifo');
  any.addSpecial('run/initctl', 'fifo');
  assert.equal(any.finish().entries, [
    { path: 'dev', type: 'dir' },
    { path: 'run', type: 'dir' },
  ]);
});

createTreeBuilderSuite('strip: drops the leading component, its own entry is the root, others are rejected', () => {
  const b = createTreeBuilder({ label: 'step', links: 'any', strip: 'out' });
  b.addDir('out/');
  b.addFile('out/a', file());
  b.addHardlink('out/b', 'out/a');
  const err = throwsWithCode<ArchiveError>(() => b.addFile('other/x', file()), 'KILN_ARCHIVE_UNSAFE_ENTRY');
  assert.is(err.entry, 'other/x');
  throwsWithCode(() => b.addFile('out', file()), 'KILN_ARCHIVE_UNSAFE_ENTRY');
  assert.equal(b.finish().entries.map((e) => e.path), ['a', 'b']);
});

createTreeBuilderSuite.run();
