import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseActionRecord, parseTreeManifest, validateTreeManifest } from '../../src/store/index.js';
import { sha256Digest } from '../../src/util/index.js';
import { throwsWithCode } from '../helpers/index.js';

const d = sha256Digest('x');
const file = (path: string, mode = 0o644) => ({ path, type: 'file', mode, digest: d, size: 1 });
const tree = (...entries: unknown[]) => ({ kiln: 'tree/v1', entries });

const ValidateTreeManifest = suite('validateTreeManifest');

ValidateTreeManifest('accepts a sorted manifest with parents, files, and symlinks', () => {
  const m = tree({ path: 'bin', type: 'dir' }, file('bin/busybox', 0o755), { path: 'bin/sh', type: 'symlink', target: 'busybox' }, file('readme'));
  assert.is(validateTreeManifest(m).entries.length, 4);
});

ValidateTreeManifest('rejects entries not sorted by byte order', () => {
  throwsWithCode(() => validateTreeManifest(tree(file('b'), file('a'))), 'KILN_STORE_BAD_TREE');
  // byte order: 'B' (0x42) sorts before 'a' (0x61), unlike a locale compare
  throwsWithCode(() => validateTreeManifest(tree(file('a'), file('B'))), 'KILN_STORE_BAD_TREE');
});

ValidateTreeManifest('rejects duplicate paths', () => {
  throwsWithCode(() => validateTreeManifest(tree(file('a'), file('a'))), 'KILN_STORE_BAD_TREE');
});

ValidateTreeManifest('rejects an entry whose parent folder is missing or is not a folder', () => {
  throwsWithCode(() => validateTreeManifest(tree(file('a/b'))), 'KILN_STORE_BAD_TREE');
  throwsWithCode(() => validateTreeManifest(tree(file('a'), file('a/b'))), 'KILN_STORE_BAD_TREE');
});

ValidateTreeManifest('rejects paths that are absolute, climb with .., or have empty parts', () => {
  for (const p of ['/etc', '..', 'a/../b', './a', 'a//b', 'a/', '']) {
    throwsWithCode(() => validateTreeManifest(tree({ path: 'a', type: 'dir' }, file(p))), 'KILN_STORE_BAD_TREE');
  }
});

ValidateTreeManifest('rejects modes other than 0644/0755, bad digests and unknown keys', () => {
  throwsWithCode(() => validateTreeManifest(tree(file('a', 0o600))), 'KILN_STORE_BAD_TREE');
  throwsWithCode(() => validateTreeManifest(tree({ ...file('a'), digest: 'sha256:abc' })), 'KILN_STORE_BAD_TREE');
  throwsWithCode(() => validateTreeManifest(tree({ ...file('a'), mtime: 1 })), 'KILN_STORE_BAD_TREE');
  throwsWithCode(() => validateTreeManifest({ ...tree(), extra: 1 }), 'KILN_STORE_BAD_TREE');
});

ValidateTreeManifest('rejects a wrong format tag', () => {
  throwsWithCode(() => validateTreeManifest({ kiln: 'tree/v2', entries: [] }), 'KILN_STORE_BAD_TREE');
});

const ParseTreeManifest = suite('parseTreeManifest');

ParseTreeManifest('wraps invalid JSON in a store error', () => {
  throwsWithCode(() => parseTreeManifest('{"entries":['), 'KILN_STORE_BAD_TREE');
});

ParseTreeManifest('parses stored bytes', () => {
  assert.equal(parseTreeManifest(Buffer.from('{"entries":[],"kiln":"tree/v1"}')), { kiln: 'tree/v1', entries: [] });
});

const ParseActionRecord = suite('parseActionRecord');

ParseActionRecord('rejects a record with a malformed digest or wrong tag', () => {
  const ok = { kiln: 'action/v1', outputTree: d, log: d, exitCode: 0, durationMs: 5, createdAt: 'now' };
  assert.equal(parseActionRecord(JSON.stringify(ok)), ok);
  throwsWithCode(() => parseActionRecord(JSON.stringify({ ...ok, log: 'nope' })), 'KILN_STORE_BAD_RECORD');
  throwsWithCode(() => parseActionRecord(JSON.stringify({ ...ok, kiln: 'action/v0' })), 'KILN_STORE_BAD_RECORD');
  throwsWithCode(() => parseActionRecord('not json'), 'KILN_STORE_BAD_RECORD');
});

ValidateTreeManifest.run();
ParseTreeManifest.run();
ParseActionRecord.run();
