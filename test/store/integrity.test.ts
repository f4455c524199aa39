import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseIntegrity } from '../../src/store/index.js';
import { throwsWithCode } from '../helpers/index.js';

const sri = (algorithm: string, data: string) => `${algorithm}-${createHash(algorithm).update(data).digest('base64')}`;

const ParseIntegrity = suite('parseIntegrity');

ParseIntegrity('collects every named algorithm with its raw digests', () => {
  const exp = parseIntegrity(`${sri('sha256', 'a')} ${sri('sha512', 'a')} ${sri('sha512', 'b')}`);
  assert.equal([...exp.expected.keys()].sort(), ['sha256', 'sha512']);
  assert.is(exp.expected.get('sha512')!.length, 2);
  assert.ok(exp.expected.get('sha256')![0]!.equals(createHash('sha256').update('a').digest()));
});

ParseIntegrity('rejects weak algorithms instead of silently dropping them', () => {
  throwsWithCode(() => parseIntegrity(sri('sha1', 'a')), 'KILN_STORE_BAD_INTEGRITY');
  throwsWithCode(() => parseIntegrity(`${sri('sha256', 'a')} ${sri('sha1', 'a')}`), 'KILN_STORE_BAD_INTEGRITY');
});

ParseIntegrity('rejects empty, malformed and truncated SRI strings', () => {
  throwsWithCode(() => parseIntegrity(''), 'KILN_STORE_BAD_INTEGRITY');
  throwsWithCode(() => parseIntegrity('sha256-'), 'KILN_STORE_BAD_INTEGRITY');
  throwsWithCode(() => parseIntegrity('sha256-AAAA'), 'KILN_STORE_BAD_INTEGRITY');
  throwsWithCode(() => parseIntegrity(`sha256:${'0'.repeat(64)}`), 'KILN_STORE_BAD_INTEGRITY');
});

ParseIntegrity.run();
