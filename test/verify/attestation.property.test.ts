// Property: an attestation file of arbitrary content, read and verified the way `kiln verify`,
// `kiln inspect` and `kiln rebuild` do, gives a report or a KilnError, never a crash, a hang
// or a file written anywhere.
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../src/cli/main.js';
import { inspectAttestation, parseAttestationFile, verifyProvenanceAttestation } from '../../src/verify/index.js';
import { envelopeText, RUNS } from '../helpers/arbitraries.js';
import { answersOrKilnError } from '../helpers/arbitraries.js';
import { listTree, makeTempDir } from '../helpers/index.js';
import { makeKey } from './provenance-helpers.js';

const key = makeKey('fuzz');
/** An attestation file: one envelope, JSON Lines of a few, or noise. */
const fileText = fc.oneof(envelopeText, fc.array(envelopeText, { minLength: 1, maxLength: 3 }).map((lines) => lines.join('\n') + '\n'));

const answer = (fn: () => unknown): boolean => answersOrKilnError(fn, 1000);

const fuzz = suite('attestation files on arbitrary input');

fuzz('parse, verify (keyed and with the signature ignored) and inspect: a report or a KilnError', () => {
  fc.assert(
    fc.property(fileText, (text) =>
      answer(() => {
        const attestation = parseAttestationFile(text, 'fuzz.intoto.jsonl');
        for (const ignoreSignature of [false, true]) {
          answer(() => {
            const report = verifyProvenanceAttestation({ attestation, keys: [key.trusted], ignoreSignature });
            assert.ok(report.checks.length > 0);
            if (ignoreSignature) assert.is(report.passed, false, 'an unchecked signature never passes');
          });
        }
        answer(() => inspectAttestation(attestation, { keys: [key.trusted] }));
      }),
    ),
    { numRuns: RUNS },
  );
});

fuzz('kiln inspect on an arbitrary file: exit 0 or 2, and nothing written beside it', async () => {
  const { dir, cleanup } = await makeTempDir('kiln-fuzz-');
  try {
    const file = join(dir, 'input.intoto.jsonl');
    await fc.assert(
      fc.asyncProperty(fileText, async (text) => {
        await writeFile(file, text);
        const out = { stdout: '', stderr: '' };
        const io = { stdout: { write: (t: string) => void (out.stdout += t) }, stderr: { write: (t: string) => void (out.stderr += t) } };
        const code = await main(['inspect', file], io);
        assert.ok(code === 0 || code === 2, `exit ${code}: ${out.stderr}`);
        assert.not.match(out.stdout + out.stderr, /[\x00-\x08\x0b-\x1f\x7f]/, 'no raw control character reaches the terminal');
        assert.equal(await readdir(dir), ['input.intoto.jsonl']);
        return true;
      }),
      { numRuns: 100 },
    );
    assert.equal(await listTree(dir), [`input.intoto.jsonl ${(await import('node:fs')).statSync(file).size}`]);
  } finally {
    await cleanup();
  }
});

fuzz.run();
