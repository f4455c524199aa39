import { chmod, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ArchiveError } from '../../src/archive/errors.js';
import { ingestDirectory } from '../../src/archive/ingest-directory.js';
import { sha256Digest } from '../../src/util/digest.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { createMemoryStore } from '../helpers/memory-store.js';

const ingestDirectorySuite = suite('ingestDirectory');

ingestDirectorySuite('reads files, folders and symlinks (never followed) into a sorted tree', async () => {
  const { dir, cleanup } = await makeTempDir();
  await mkdir(join(dir, 'b/c'), { recursive: true });
  await writeFile(join(dir, 'b/c/run'), 'run');
  await chmod(join(dir, 'b/c/run'), 0o4750);
  await writeFile(join(dir, 'a'), 'a');
  await mkdir(join(dir, 'empty'));
  await symlink('b/c', join(dir, 'link'));
  const store = createMemoryStore();
  const { manifest, digest } = await ingestDirectory(store, dir, { label: 'tool', links: 'contained' });
  assert.equal(manifest.entries, [
    { path: 'a', type: 'file', mode: 0o644, digest: sha256Digest('a'), size: 1 },
    { path: 'b', type: 'dir' },
    { path: 'b/c', type: 'dir' },
    { path: 'b/c/run', type: 'file', mode: 0o755, digest: sha256Digest('run'), size: 3 },
    { path: 'empty', type: 'dir' },
    { path: 'link', type: 'symlink', target: 'b/c' },
  ]);
  assert.ok(store.trees.has(digest));
  assert.equal((await readdir(dir)).sort(), ['a', 'b', 'empty', 'link'], 'the folder is left as it was');
  await cleanup();
});

ingestDirectorySuite('the same folder always gives the same tree digest', async () => {
  const { dir, cleanup } = await makeTempDir();
  for (const name of ['z', 'B', 'a', 'é']) await writeFile(join(dir, name), name);
  const store = createMemoryStore();
  const first = await ingestDirectory(store, dir, { label: 'x', links: 'contained' });
  const second = await ingestDirectory(store, dir, { label: 'x', links: 'contained' });
  assert.is(first.digest, second.digest);
  assert.equal(first.manifest.entries.map((e) => e.path), ['B', 'a', 'z', 'é']);
  await cleanup();
});

ingestDirectorySuite('contained: rejects a symlink that points outside the folder', async () => {
  const { dir, cleanup } = await makeTempDir();
  await symlink('/etc/passwd', join(dir, 'passwd'));
  const store = createMemoryStore();
  const err = await rejectsWithCode<ArchiveError>(() => ingestDirectory(store, dir, { label: 'tool', links: 'contained' }), 'KILN_ARCHIVE_UNSAFE_ENTRY');
  assert.is(err.entry, 'passwd');
  assert.is(store.trees.size, 0);
  const any = await ingestDirectory(store, dir, { label: 'tool', links: 'any' });
  assert.equal(any.manifest.entries, [{ path: 'passwd', type: 'symlink', target: '/etc/passwd' }]);
  await cleanup();
});

ingestDirectorySuite('rejects a socket, naming it', async () => {
  const { dir, cleanup } = await makeTempDir();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(dir, 'sock'), resolve));
  try {
    const store = createMemoryStore();
    const err = await rejectsWithCode<ArchiveError>(() => ingestDirectory(store, dir, { label: 'tool', links: 'any' }), 'KILN_ARCHIVE_UNSAFE_ENTRY');
    assert.is(err.entry, 'sock');
    assert.is(store.trees.size, 0);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await cleanup();
  }
});

ingestDirectorySuite('rejects a path that is not a folder', async () => {
  const { dir, cleanup } = await makeTempDir();
  await writeFile(join(dir, 'file'), 'x');
  await rejectsWithCode(() => ingestDirectory(createMemoryStore(), join(dir, 'file'), { label: 't', links: 'any' }), 'KILN_ARCHIVE_UNSUPPORTED');
  await cleanup();
});

ingestDirectorySuite.run();
