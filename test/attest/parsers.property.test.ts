// Property: whatever bytes an attacker hands the DSSE envelope, statement and VSA parsers,
// each returns a result or throws a KilnError (never a TypeError, never a hang).
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildVsa, envelopeFromJSON, statementFromPayload, vsaFromStatement } from '../../src/attest/index.js';
import { answersOrKilnError, envelopeText, hex, hostileString, payloadBytes, RUNS, statementLike } from '../helpers/arbitraries.js';

const resultOrKilnError = (fn: () => unknown): boolean => answersOrKilnError(fn, 500);

const parsers = suite('attestation parsers on arbitrary input');

parsers('envelopeFromJSON: a DsseEnvelope or a KilnError', () => {
  fc.assert(fc.property(envelopeText, (text) => resultOrKilnError(() => envelopeFromJSON(text, 'fuzz.json'))), { numRuns: RUNS });
});

parsers('statementFromPayload: a Statement or a KilnError; what it returns has a subject list of digest sets', () => {
  fc.assert(
    fc.property(payloadBytes, (bytes) =>
      resultOrKilnError(() => {
        const s = statementFromPayload(bytes);
        assert.ok(Array.isArray(s.subject) && s.subject.length > 0);
        for (const subject of s.subject) assert.ok(typeof subject.digest === 'object' && subject.digest !== null);
      }),
    ),
    { numRuns: RUNS },
  );
});

parsers('vsaFromStatement: a VSA whose required fields have their types, or a KilnError', () => {
  fc.assert(
    fc.property(statementLike, (value) =>
      resultOrKilnError(() => {
        const vsa = vsaFromStatement(value as never);
        assert.type(vsa.predicate.verifier.id, 'string');
        assert.type(vsa.predicate.timeVerified, 'string');
        assert.type(vsa.predicate.resourceUri, 'string');
        assert.ok(['PASSED', 'FAILED'].includes(vsa.predicate.verificationResult));
        assert.ok(vsa.predicate.verifiedLevels.every((l) => typeof l === 'string'));
      }),
    ),
    { numRuns: RUNS },
  );
});

parsers('the statement → VSA chain on arbitrary payload bytes: never anything but a KilnError', () => {
  fc.assert(fc.property(payloadBytes, (bytes) => resultOrKilnError(() => vsaFromStatement(statementFromPayload(bytes)))), { numRuns: RUNS });
});

parsers('every VSA kiln writes parses back, whatever its strings, and drops no field', () => {
  fc.assert(
    fc.property(hostileString.filter((s) => s !== ''), hostileString.filter((s) => s !== ''), hex(64), fc.boolean(), (name, id, sha, reproduced) => {
      const vsa = buildVsa({ subjects: [{ name, digest: { sha256: sha.toLowerCase() } }], verifierId: id, kilnVersion: '0', resourceUri: `pkg:generic/${encodeURIComponent(name)}`, provenance: { uri: name, sha256: sha.toLowerCase() }, reproduced, timeVerified: '2026-01-01T00:00:00Z' });
      const parsed = vsaFromStatement(statementFromPayload(Buffer.from(JSON.stringify(vsa))));
      assert.equal(parsed, vsa);
      return true;
    }),
    { numRuns: RUNS },
  );
});

parsers.run();
