import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStatement, statementFromPayload, STATEMENT_TYPE_V01, STATEMENT_TYPE_V1, assertDigestSet } from '../../src/attest/index.js';
import { throwsWithCode } from '../helpers/index.js';

const HEX = 'a'.repeat(64);
const bytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

const make = suite('makeStatement');

make('fills _type with Statement v1 and keeps subject, predicateType and predicate', () => {
  const s = makeStatement([{ name: 'a', digest: { sha256: HEX } }], 'https://example.org/p/v1', { x: 1 });
  assert.equal(s, { _type: STATEMENT_TYPE_V1, subject: [{ name: 'a', digest: { sha256: HEX } }], predicateType: 'https://example.org/p/v1', predicate: { x: 1 } });
});

const parse = suite('statementFromPayload');

parse('reads back what makeStatement made', () => {
  const s = makeStatement([{ name: 'a', digest: { sha256: HEX, sha512: 'b'.repeat(128) } }], 'https://example.org/p/v1', { x: 1 });
  assert.equal(statementFromPayload(bytes(s)), s);
});

parse('accepts a subject without a name and unknown digest algorithms unchecked', () => {
  const s = { _type: STATEMENT_TYPE_V1, subject: [{ digest: { sha256: HEX, myAlg: 'XYZ' } }], predicateType: 'p' };
  assert.equal(statementFromPayload(bytes(s)), s);
});

parse('reads an in-toto Statement v0.1 (what cosign attest-blob writes) as found', () => {
  const s = { _type: STATEMENT_TYPE_V01, subject: [{ name: 'a', digest: { sha256: HEX } }], predicateType: 'p', predicate: {} };
  assert.equal(statementFromPayload(bytes(s)), s);
});

parse('checks a v0.1 statement by the same rules (a subject without digest is refused)', () => {
  throwsWithCode(() => statementFromPayload(bytes({ _type: STATEMENT_TYPE_V01, subject: [{ name: 'a' }], predicateType: 'p' })), 'KILN_ATTEST_BAD_STATEMENT');
});

parse('refuses a _type that cannot be turned into text (an object whose toString is not a function) with its code, not a TypeError', () => {
  const err = throwsWithCode<{ found?: string }>(() => statementFromPayload(Buffer.from('{"_type":{"toString":0}}')), 'KILN_ATTEST_STATEMENT_VERSION');
  assert.is(err.found, '{"toString":0}');
});

parse('rejects any other _type with its own code', () => {
  const s = { _type: 'https://in-toto.io/Statement/v2', subject: [{ name: 'a', digest: { sha256: HEX } }], predicateType: 'p', predicate: {} };
  const err = throwsWithCode<{ found?: string }>(() => statementFromPayload(bytes(s)), 'KILN_ATTEST_STATEMENT_VERSION');
  assert.is(err.found, 'https://in-toto.io/Statement/v2');
});

parse('rejects a payload without _type as another version', () => {
  throwsWithCode(() => statementFromPayload(bytes({ subject: [], predicateType: 'p' })), 'KILN_ATTEST_STATEMENT_VERSION');
});

for (const [name, value] of [
  ['no subject', { _type: STATEMENT_TYPE_V1, predicateType: 'p' }],
  ['an empty subject list', { _type: STATEMENT_TYPE_V1, subject: [], predicateType: 'p' }],
  ['a subject without digest', { _type: STATEMENT_TYPE_V1, subject: [{ name: 'a' }], predicateType: 'p' }],
  ['an empty digest', { _type: STATEMENT_TYPE_V1, subject: [{ name: 'a', digest: {} }], predicateType: 'p' }],
  ['a sha256 of the wrong length', { _type: STATEMENT_TYPE_V1, subject: [{ name: 'a', digest: { sha256: 'abc' } }], predicateType: 'p' }],
  ['an uppercase sha256', { _type: STATEMENT_TYPE_V1, subject: [{ name: 'a', digest: { sha256: 'A'.repeat(64) } }], predicateType: 'p' }],
  ['a numeric name', { _type: STATEMENT_TYPE_V1, subject: [{ name: 5, digest: { sha256: HEX } }], predicateType: 'p' }],
  ['no predicateType', { _type: STATEMENT_TYPE_V1, subject: [{ name: 'a', digest: { sha256: HEX } }] }],
  ['a predicate that is an array', { _type: STATEMENT_TYPE_V1, subject: [{ name: 'a', digest: { sha256: HEX } }], predicateType: 'p', predicate: [] }],
] as const) {
  parse(`rejects ${name}`, () => {
    throwsWithCode(() => statementFromPayload(bytes(value)), 'KILN_ATTEST_BAD_STATEMENT');
  });
}

parse('rejects bytes that are not JSON', () => {
  throwsWithCode(() => statementFromPayload(Buffer.from('{nope')), 'KILN_ATTEST_BAD_STATEMENT');
});

const digestSet = suite('assertDigestSet');

digestSet('accepts gitCommit of SHA-1 or SHA-256 length', () => {
  assertDigestSet({ gitCommit: 'c'.repeat(40) }, 'x');
  assertDigestSet({ gitCommit: 'c'.repeat(64) }, 'x');
  throwsWithCode(() => assertDigestSet({ gitCommit: 'c'.repeat(41) }, 'x'), 'KILN_ATTEST_BAD_STATEMENT');
});

make.run();
parse.run();
digestSet.run();
