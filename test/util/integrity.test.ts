import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { digestOfSri, hexDigestsOfSri, sriFromDigest, sriFromHex, sriFromSha256Hex } from '../../src/util/integrity.js';

const codec = suite('integrity codec');
const bytes = Buffer.from('kiln');
const hex = (alg: string) => createHash(alg).update(bytes).digest('hex');
const b64 = (alg: string) => createHash(alg).update(bytes).digest('base64');

codec('hex → SRI and back for each SRI algorithm', () => {
  for (const alg of ['sha256', 'sha384', 'sha512'] as const) {
    assert.is(sriFromHex(alg, hex(alg)), `${alg}-${b64(alg)}`);
    assert.equal(hexDigestsOfSri(sriFromHex(alg, hex(alg))), { [alg]: hex(alg) });
  }
  assert.is(sriFromSha256Hex(hex('sha256')), `sha256-${b64('sha256')}`);
});

codec('a store digest ↔ its SRI', () => {
  const digest = `sha256:${hex('sha256')}` as const;
  assert.is(sriFromDigest(digest), `sha256-${b64('sha256')}`);
  assert.is(digestOfSri(sriFromDigest(digest)), digest);
});

codec('a multi-hash SRI gives every algorithm; options and unknown tokens are skipped', () => {
  const sri = `sha512-${b64('sha512')}?opt sha1-abc sha256-${b64('sha256')}`;
  assert.equal(hexDigestsOfSri(sri), { sha512: hex('sha512'), sha256: hex('sha256') });
  assert.is(digestOfSri(`sha512-${b64('sha512')}`), undefined);
  assert.is(digestOfSri('sha256-short='), undefined);
});

codec.run();
