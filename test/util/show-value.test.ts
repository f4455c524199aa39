import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { showValue } from '../../src/util/index.js';

test('a string is shown as it is; other values as JSON', () => {
  assert.is(showValue('v1'), 'v1');
  assert.is(showValue(2), '2');
  assert.is(showValue(null), 'null');
  assert.is(showValue(undefined), 'undefined');
  assert.is(showValue([1, 'a']), '[1,"a"]');
});

test('values that make String() throw are shown, not thrown', () => {
  assert.throws(() => String({ toString: 0 }));
  assert.is(showValue({ toString: 0 }), '{"toString":0}');
  assert.is(showValue(Object.create(null)), '{}');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.is(showValue(cyclic), 'an object');
  assert.is(showValue(10n), 'bigint');
});

test('long values are cut with an ellipsis', () => {
  const shown = showValue({ a: 'x'.repeat(500) }, 20);
  assert.is(shown.length, 21);
  assert.ok(shown.endsWith('…'));
});

test.run();
