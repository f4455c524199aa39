import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildProvenance,
  createSigner,
  envelopeToJSON,
  generateKeyPair,
  PAYLOAD_TYPE_INTOTO,
  signEnvelope,
  statementBytes,
  type DsseEnvelope,
  type KeyAlgorithm,
} from '../../src/attest/index.js';
import { makeTempDir } from '../helpers/index.js';
import { DSSE_VECTOR, dsseVectorKeys, FIXTURES, loadFixtureBuild, toUrlSafe } from './support.js';

/**
 * Envelopes kiln signs must verify with an implementation kiln did not write: Debian's
 * python3-securesystemslib, through /usr/bin/python3 (the `python3` on PATH may be another
 * interpreter without it). See test/fixtures/attest/sslib_verify_dsse.py.
 */
const PYTHON = '/usr/bin/python3';
const hasSslib = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import securesystemslib.signer, cryptography']).status === 0;

async function sslibVerify(envelope: DsseEnvelope | string, publicKeyPem: string): Promise<{ status: number | null; result: { verified?: number; payload?: string; payloadType?: string } }> {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeFile(join(dir, 'envelope.json'), typeof envelope === 'string' ? envelope : envelopeToJSON(envelope));
    await writeFile(join(dir, 'key.pub'), publicKeyPem);
    const run = spawnSync(PYTHON, [join(FIXTURES(), 'sslib_verify_dsse.py'), join(dir, 'envelope.json'), join(dir, 'key.pub')], { encoding: 'utf8' });
    assert.is(run.stderr, '', run.stderr);
    return { status: run.status, result: JSON.parse(run.stdout) };
  } finally {
    await cleanup();
  }
}

/** ECDSA raw r||s (32 + 32 bytes) → ASN.1 DER SEQUENCE { INTEGER r, INTEGER s }. */
function p1363ToDer(sig: Buffer): Buffer {
  const int = (b: Buffer): Buffer => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = b.subarray(i);
    const body = v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v;
    return Buffer.concat([Buffer.from([0x02, body.length]), body]);
  };
  const seq = Buffer.concat([int(sig.subarray(0, 32)), int(sig.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, seq.length]), seq]);
}

const sslib = suite('securesystemslib verifies kiln envelopes');

if (hasSslib) {
  sslib('refuses the DSSE spec vector as written (raw r||s; securesystemslib reads DER only)', async () => {
    const { status, result } = await sslibVerify(DSSE_VECTOR.envelope, dsseVectorKeys().publicKeyPem);
    assert.is(status, 1);
    assert.is(result.verified, 0);
  });

  sslib('accepts the DSSE spec vector once its signature is DER-encoded (the script is a working verifier)', async () => {
    const vector = JSON.parse(DSSE_VECTOR.envelope) as { payload: string; payloadType: string; signatures: Array<{ sig: string }> };
    const der = p1363ToDer(Buffer.from(vector.signatures[0]!.sig, 'base64'));
    const envelope = { ...vector, signatures: [{ sig: der.toString('base64') }] };
    const { status, result } = await sslibVerify(JSON.stringify(envelope), dsseVectorKeys().publicKeyPem);
    assert.is(status, 0);
    assert.is(result.payload, 'hello world');
  });

  for (const algorithm of ['ed25519', 'ecdsa-p256'] as KeyAlgorithm[]) {
    sslib(`${algorithm}: a signed provenance statement verifies`, async () => {
      const { summary, recipe } = loadFixtureBuild();
      const statement = buildProvenance(summary, recipe, { kilnVersion: '0.1.0', invocationId: 'urn:uuid:1' });
      const pair = generateKeyPair(algorithm);
      const envelope = signEnvelope(statementBytes(statement), PAYLOAD_TYPE_INTOTO, [createSigner(pair.privateKeyPem)]);
      const { status, result } = await sslibVerify(envelope, pair.publicKeyPem);
      assert.is(status, 0);
      assert.is(result.verified, 1);
      assert.is(result.payloadType, PAYLOAD_TYPE_INTOTO);
      assert.equal(JSON.parse(result.payload!), statement);
    });

    sslib(`${algorithm}: a non-ASCII payload type and payload verify (PAE counts bytes on both sides)`, async () => {
      const pair = generateKeyPair(algorithm);
      const envelope = signEnvelope(Buffer.from('{"grüße":"✓"}'), 'application/typé', [createSigner(pair.privateKeyPem)]);
      const { status, result } = await sslibVerify(envelope, pair.publicKeyPem);
      assert.is(status, 0);
      assert.is(result.payload, '{"grüße":"✓"}');
    });

    sslib(`${algorithm}: a tampered envelope is refused`, async () => {
      const pair = generateKeyPair(algorithm);
      const envelope = signEnvelope(Buffer.from('{"a":1}'), PAYLOAD_TYPE_INTOTO, [createSigner(pair.privateKeyPem)]);
      const { status } = await sslibVerify({ ...envelope, payload: Buffer.from('{"a":2}').toString('base64') }, pair.publicKeyPem);
      assert.is(status, 1);
    });

    sslib(`${algorithm}: another key is refused`, async () => {
      const envelope = signEnvelope(Buffer.from('x'), PAYLOAD_TYPE_INTOTO, [createSigner(generateKeyPair(algorithm).privateKeyPem)]);
      const { status } = await sslibVerify(envelope, generateKeyPair(algorithm).publicKeyPem);
      assert.is(status, 1);
    });
  }

  sslib('URL-safe encodings of a kiln envelope verify there too', async () => {
    const pair = generateKeyPair('ed25519');
    const envelope = signEnvelope(Buffer.from([0xfb, 0xff, 0x7b, 0x7d]), PAYLOAD_TYPE_INTOTO, [createSigner(pair.privateKeyPem)]);
    const urlSafe = { ...envelope, payload: toUrlSafe(envelope.payload), signatures: envelope.signatures.map((s) => ({ ...s, sig: toUrlSafe(s.sig) })) };
    const { status, result } = await sslibVerify(JSON.stringify(urlSafe), pair.publicKeyPem);
    assert.is(status, 0);
    assert.is(result.verified, 1);
  });
} else {
  sslib.skip('python3-securesystemslib is not installed at /usr/bin/python3', () => {});
}

sslib.run();
