import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isText, unifiedDiff } from '../../src/diff/text.js';

const unifiedDiffSuite = suite('unifiedDiff');

unifiedDiffSuite('returns no hunks for equal texts', () => {
  assert.equal(unifiedDiff('a\nb\n', 'a\nb\n'), { hunks: [], truncated: false });
});

unifiedDiffSuite('shows a change with three lines of context, as diff -u does', () => {
  const a = 'l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\n';
  const b = 'l1\nl2\nl3\nl4\nX5\nl6\nl7\nl8\n';
  assert.equal(unifiedDiff(a, b).hunks, [{ aStart: 2, aLines: 7, bStart: 2, bLines: 7, lines: [' l2', ' l3', ' l4', '-l5', '+X5', ' l6', ' l7', ' l8'] }]);
});

unifiedDiffSuite('merges changes closer than twice the context, splits those farther apart', () => {
  const lines = Array.from({ length: 30 }, (_, i) => `l${i}`);
  const near = [...lines];
  near[5] = 'x';
  near[10] = 'y';
  assert.is(unifiedDiff(lines.join('\n'), near.join('\n')).hunks.length, 1);
  const far = [...lines];
  far[5] = 'x';
  far[20] = 'y';
  assert.is(unifiedDiff(lines.join('\n'), far.join('\n')).hunks.length, 2);
});

unifiedDiffSuite('numbers an insertion into an empty side from the line before', () => {
  assert.equal(unifiedDiff('', 'new\n').hunks, [{ aStart: 0, aLines: 0, bStart: 1, bLines: 1, lines: ['+new'] }]);
  assert.equal(unifiedDiff('old\n', '').hunks, [{ aStart: 1, aLines: 1, bStart: 0, bLines: 0, lines: ['-old'] }]);
});

unifiedDiffSuite('tells a missing newline at the end', () => {
  const { hunks } = unifiedDiff('a\nb\n', 'a\nb');
  assert.equal(hunks[0]!.lines, [' a', '-b', '+b', '\\ No newline at end of file']);
});

unifiedDiffSuite('finds the shortest edit for insertions and deletions in the middle', () => {
  const { hunks } = unifiedDiff('a\nb\nc\nd\n', 'a\nc\nd\ne\n');
  assert.equal(hunks[0]!.lines, [' a', '-b', ' c', ' d', '+e']);
});

unifiedDiffSuite('cuts the output at maxLines and says so', () => {
  const a = Array.from({ length: 100 }, (_, i) => `a${i}`).join('\n');
  const b = Array.from({ length: 100 }, (_, i) => `b${i}`).join('\n');
  const diff = unifiedDiff(a, b, { maxLines: 10 });
  assert.is(diff.truncated, true);
  assert.is(diff.hunks.flatMap((h) => h.lines).length, 10);
});

unifiedDiffSuite('falls back to one replaced block past maxEdits', () => {
  const a = Array.from({ length: 50 }, (_, i) => `a${i}`).join('\n') + '\n';
  const b = Array.from({ length: 50 }, (_, i) => `b${i}`).join('\n') + '\n';
  const diff = unifiedDiff(a, b, { maxEdits: 5, maxLines: 1000 });
  const lines = diff.hunks.flatMap((h) => h.lines);
  assert.is(lines.filter((l) => l.startsWith('-')).length, 50);
  assert.is(lines.filter((l) => l.startsWith('+')).length, 50);
});

unifiedDiffSuite.run();

const isTextSuite = suite('isText');

isTextSuite('accepts UTF-8 without NUL, refuses NUL and invalid UTF-8', () => {
  assert.is(isText(Buffer.from('héllo\n')), true);
  assert.is(isText(Buffer.alloc(0)), true);
  assert.is(isText(Buffer.from([0x61, 0x00, 0x62])), false);
  assert.is(isText(Buffer.from([0xff, 0xfe, 0x41])), false);
});

isTextSuite.run();
