import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { classify, summarize, toDifference } from '../../src/diff/classify.js';
import type { RawDifference } from '../../src/diff/types.js';

const classifySuite = suite('classify');

const p: string[] = ['x'];

classifySuite('maps each kind to one class of the issue list or presence', () => {
  const cases: Array<[RawDifference, string]> = [
    [{ path: p, kind: 'added', detail: { type: 'file' } }, 'presence'],
    [{ path: p, kind: 'removed', detail: { type: 'file' } }, 'presence'],
    [{ path: p, kind: 'timestamp', detail: { field: 'mtime', a: 1, b: 2 } }, 'timestamp'],
    [{ path: p, kind: 'permissions', detail: { a: 0o644, b: 0o755 } }, 'permissions'],
    [{ path: p, kind: 'ownership', detail: { field: 'uid', a: 0, b: 1000 } }, 'ownership'],
    [{ path: p, kind: 'ordering', detail: { index: 0, a: ['a'], b: ['b'], moved: 2 } }, 'ordering'],
    [{ path: p, kind: 'size', detail: { a: 1, b: 2 } }, 'size'],
    [{ path: p, kind: 'text', detail: { hunks: [], truncated: false } }, 'content'],
    [{ path: p, kind: 'binary', detail: { regions: [], truncated: false, aSize: 1, bSize: 1 } }, 'content'],
    [{ path: p, kind: 'link-target', detail: { a: 'x', b: 'y' } }, 'content'],
    [{ path: p, kind: 'bytes', detail: { a: 'sha256:a', b: 'sha256:b' } }, 'content'],
  ];
  for (const [d, expected] of cases) assert.is(classify(d), expected, d.kind);
});

classifySuite('puts a gzip header mtime under timestamp and its other fields under content', () => {
  assert.is(classify({ path: p, kind: 'gzip-header', detail: { field: 'mtime', a: 0, b: 1 } }), 'timestamp');
  assert.is(classify({ path: p, kind: 'gzip-header', detail: { field: 'os', a: 3, b: 255 } }), 'content');
  assert.is(classify({ path: p, kind: 'gzip-header', detail: { field: 'name', a: null, b: 'x' } }), 'content');
});

const summarizeSuite = suite('summarize');

summarizeSuite('counts differences by class, zero for the others', () => {
  const ds = [
    toDifference({ path: p, kind: 'size', detail: { a: 1, b: 2 } }),
    toDifference({ path: p, kind: 'timestamp', detail: { field: 'mtime', a: 1, b: 2 } }),
    toDifference({ path: p, kind: 'timestamp', detail: { field: 'atime', a: 1, b: 2 } }),
  ];
  assert.equal(summarize(ds), { content: 0, timestamp: 2, ordering: 0, permissions: 0, ownership: 0, size: 1, presence: 0 });
});

classifySuite.run();
summarizeSuite.run();
