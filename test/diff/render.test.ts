import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { toDifference } from '../../src/diff/classify.js';
import { formatText, toHtml, toJSON } from '../../src/diff/render.js';
import type { DiffReport, RawDifference } from '../../src/diff/types.js';

function report(raw: RawDifference[]): DiffReport {
  const differences = raw.map(toDifference);
  const summary = { content: 0, timestamp: 0, ordering: 0, permissions: 0, ownership: 0, size: 0, presence: 0 };
  for (const d of differences) summary[d.class]++;
  return { identical: differences.length === 0, a: 'a.zip', b: 'b.zip', differences, summary, omitted: 0 };
}

const sample = report([
  { path: ['inner.tar.gz'], kind: 'gzip-header', detail: { field: 'mtime', a: 0, b: 1_700_000_000 } },
  { path: ['inner.tar.gz', 'dir/f.txt'], kind: 'text', detail: { truncated: false, hunks: [{ aStart: 1, aLines: 1, bStart: 1, bLines: 1, lines: ['-old', '+new'] }] } },
  { path: ['inner.tar.gz', 'dir/run'], kind: 'permissions', detail: { a: 0o644, b: 0o755 } },
]);

const formatTextSuite = suite('formatText');

formatTextSuite('groups by nested path and tags each line with its class', () => {
  const text = formatText(sample);
  assert.match(text, 'a.zip ↔ b.zip: 3 differences (1 content, 1 timestamp, 1 permissions)');
  assert.match(text, '\ninner.tar.gz › dir/f.txt\n  content     text differs\n      @@ -1,1 +1,1 @@\n      -old\n      +new\n');
  assert.match(text, '  permissions mode 0644 → 0755');
  assert.match(text, '  timestamp   gzip header mtime 1970-01-01T00:00:00Z (0) → 2023-11-14T22:13:20Z (1700000000)');
  assert.not.match(text, '\x1b[');
});

formatTextSuite('colours only when asked', () => {
  assert.match(formatText(sample, { color: true }), '\x1b[31m');
});

formatTextSuite('says identical for identical inputs', () => {
  assert.is(formatText(report([])), 'a.zip ↔ b.zip: identical\n');
});

formatTextSuite('escapes control characters of untrusted names and lines', () => {
  const text = formatText(report([{ path: ['evil\x1b[2Jname'], kind: 'added', detail: { type: 'file' } }]));
  assert.not.match(text, '\x1b');
  assert.match(text, 'evil\\x1b[2Jname');
});

const toJSONSuite = suite('toJSON');

toJSONSuite('tags the report with its format and keeps every field', () => {
  const json = JSON.parse(JSON.stringify(toJSON(sample)));
  assert.is(json.kiln, 'diff/v1');
  assert.is(json.differences.length, 3);
  assert.equal(json.differences[2], { path: ['inner.tar.gz', 'dir/run'], kind: 'permissions', detail: { a: 0o644, b: 0o755 }, class: 'permissions' });
  assert.is(json.summary.timestamp, 1);
});

const toHtmlSuite = suite('toHtml');

toHtmlSuite('escapes a member named <script> and loads nothing from elsewhere', () => {
  const html = toHtml(report([
    { path: ['<script>alert(1)</script>'], kind: 'added', detail: { type: 'file' } },
    { path: ['x'], kind: 'text', detail: { truncated: false, hunks: [{ aStart: 1, aLines: 1, bStart: 1, bLines: 1, lines: ['-<img src=x onerror=alert(1)>', '+"&\''] }] } },
  ]));
  assert.not.match(html, '<script');
  assert.not.match(html, '<img');
  assert.match(html, '&lt;script&gt;alert(1)&lt;/script&gt;');
  assert.match(html, '+&quot;&amp;&#39;');
  assert.match(html, "default-src 'none'");
  assert.not.match(html, /<[a-z][^>]*\s(src|href)=/i);
});

toHtmlSuite('is one page with the verdict and the counts by class', () => {
  const html = toHtml(sample);
  assert.ok(html.startsWith('<!doctype html>'));
  assert.match(html, '3 differences');
  assert.match(html, '<span class="tag permissions">permissions</span> mode 0644 → 0755');
  assert.match(toHtml(report([])), 'identical');
});

formatTextSuite.run();
toJSONSuite.run();
toHtmlSuite.run();
