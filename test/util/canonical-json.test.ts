import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalJSON } from '../../src/util/canonical-json.js';

const c = suite('canonicalJSON');

c('sorts keys at every depth and writes no whitespace', () => {
  assert.is(canonicalJSON({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } }), '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
});

c('drops undefined members', () => {
  assert.is(canonicalJSON({ a: undefined, b: null }), '{"b":null}');
});

c('refuses numbers without one canonical text', () => {
  assert.throws(() => canonicalJSON({ a: 1.5 }));
  assert.throws(() => canonicalJSON({ a: 2 ** 60 }));
});

c('escapes strings as JSON does', () => {
  assert.is(canonicalJSON(['a"b\n']), '["a\\"b\\n"]');
});

c.run();
