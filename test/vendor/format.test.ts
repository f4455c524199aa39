import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_INDEX_BYTES, mergeVendorIndexes, parseVendorIndex, vendorIndexToText, type VendorIndex } from '../../src/vendor/index.js';
import { throwsWithCode } from '../helpers/index.js';

const HEX = 'a'.repeat(64);
const SRI = `sha256-${'A'.repeat(43)}= sha512-${'B'.repeat(86)}==`;
const index = (uses: VendorIndex['blobs'][string]['uses']): VendorIndex => ({ kiln: 'vendor/v1', blobs: { [HEX]: { size: 3, integrity: SRI, uses } } });

const Parse = suite('parseVendorIndex');

Parse('round-trips what vendorIndexToText writes, keys sorted', () => {
  const i = index([{ recipe: 'r', input: 'src', kind: 'url', ref: 'https://example.org/x' }]);
  const text = vendorIndexToText(i);
  assert.equal(parseVendorIndex(text, 'index.json'), i);
  assert.ok(text.indexOf('"blobs"') < text.indexOf('"kiln"'));
});

Parse('refuses what is not an index: another format, a key that is not a sha256, a use naming neither input nor image', () => {
  throwsWithCode(() => parseVendorIndex('[]', 'i'), 'KILN_VENDOR_INDEX');
  throwsWithCode(() => parseVendorIndex('{"kiln":"vendor/v9","blobs":{}}', 'i'), 'KILN_VENDOR_INDEX');
  throwsWithCode(() => parseVendorIndex(JSON.stringify({ kiln: 'vendor/v1', blobs: { '../etc': { size: 1, integrity: SRI, uses: [] } } }), 'i'), 'KILN_VENDOR_INDEX');
  throwsWithCode(() => parseVendorIndex(vendorIndexToText(index([{ recipe: 'r', kind: 'url', ref: 'x' }])), 'i'), 'KILN_VENDOR_INDEX');
  throwsWithCode(() => parseVendorIndex(JSON.stringify({ kiln: 'vendor/v1', blobs: { [HEX]: { size: -1, integrity: SRI, uses: [] } } }), 'i'), 'KILN_VENDOR_INDEX');
  throwsWithCode(() => parseVendorIndex(JSON.stringify({ kiln: 'vendor/v1', blobs: { [HEX]: { size: 1, integrity: 'md5-x', uses: [] } } }), 'i'), 'KILN_VENDOR_INDEX');
});

Parse('a budget on the index\'s size: larger than MAX_INDEX_BYTES is refused before parsing', () => {
  const huge = `{"kiln":"vendor/v1","blobs":{},"pad":"${'x'.repeat(MAX_INDEX_BYTES)}"}`;
  const err = throwsWithCode<Error>(() => parseVendorIndex(huge, 'i'), 'KILN_VENDOR_INDEX');
  assert.match(err.message, /larger than/);
});

const Merge = suite('mergeVendorIndexes');

Merge('one blob used by two recipes lists both uses once; digests are united', () => {
  const a = index([{ recipe: 'toolchain', image: 'toolchain', kind: 'deb', ref: 'gcc=12:amd64' }]);
  const b = index([{ recipe: 'hello', image: 'toolchain', kind: 'deb', ref: 'gcc=12:amd64' }, { recipe: 'toolchain', image: 'toolchain', kind: 'deb', ref: 'gcc=12:amd64' }]);
  const merged = mergeVendorIndexes(a, b);
  assert.equal(merged.blobs[HEX]!.uses.map((u) => u.recipe), ['toolchain', 'hello']);
  assert.is(merged.blobs[HEX]!.integrity, SRI);
});

Parse.run();
Merge.run();
