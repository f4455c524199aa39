import { decodeBase64, toBase64 } from './base64.js';
import { AttestError } from './errors.js';
import type { DsseEnvelope, DsseSignature, Signer, TrustedKey } from './types.js';

/**
 * DSSE v1 (secure-systems-lab/dsse protocol.md, envelope.md). Pure: no IO, no clock.
 */

/**
 * Pre-Authentication Encoding, the bytes that are signed:
 * `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`. LEN is the BYTE length in ASCII
 * decimal: a payload type with a non-ASCII character counts its UTF-8 bytes (specs.md §1.2;
 * the Python reference counts characters and is wrong there).
 */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${payload.length} `, 'ascii'),
    payload,
  ]);
}

/** Signs `payload` with every signer; keyids are the signers' OpenSSH fingerprints. */
export function signEnvelope(payload: Uint8Array, payloadType: string, signers: Signer[]): DsseEnvelope {
  const message = pae(payloadType, payload);
  return {
    payload: toBase64(payload),
    payloadType,
    signatures: signers.map((s) => ({ keyid: s.keyid, sig: toBase64(s.sign(message)) })),
  };
}

/**
 * Checks signatures only (not the payload type, not the statement). Every signature is tried
 * against every trusted key: the keyid is an unauthenticated hint (protocol.md) and a
 * third-party signer may write a keyid format kiln does not compute, so it is never used to
 * skip a key. The PAE is built from the decoded payload once, and that same buffer is returned,
 * so the caller parses exactly the bytes that were verified (protocol.md, "Protocol").
 *
 * @returns `payload`: the verified bytes; `validKeyids`: the distinct keyids of trusted keys
 *   that produced at least one valid signature (possibly none); `checked`: how many
 *   signatures the envelope carried; `verifiedBy[i]`: the keyid of the trusted key that made
 *   signature i, or undefined (so a report can name the signatures no trusted key made, even
 *   when their keyid hints are empty or another tool's format).
 */
export function verifyEnvelopeSignatures(
  envelope: DsseEnvelope,
  keys: TrustedKey[],
): { payload: Buffer; validKeyids: string[]; checked: number; verifiedBy: Array<string | undefined> } {
  const payload = decodePayload(envelope);
  const message = pae(envelope.payloadType, payload);
  const verifiedBy = envelope.signatures.map((signature) => {
    const sig = decodeBase64(signature.sig);
    if (!sig || sig.length === 0) return undefined;
    return keys.find((key) => key.verify(message, sig))?.keyid;
  });
  const validKeyids = [...new Set(verifiedBy.filter((k): k is string => k !== undefined))];
  return { payload, validKeyids, checked: envelope.signatures.length, verifiedBy };
}

/** The payload bytes (standard or URL-safe base64 accepted). */
export function decodePayload(envelope: DsseEnvelope): Buffer {
  const payload = decodeBase64(envelope.payload);
  if (!payload) throw new AttestError('KILN_ATTEST_BAD_ENVELOPE', 'the envelope payload is not base64');
  return payload;
}

/**
 * Parses one DSSE envelope from JSON. Checks the shape and that every base64 field decodes;
 * keeps the encodings as found (a verifier decodes them; re-encoding changes nothing signed).
 * Unknown fields are dropped (consumers MUST ignore them, envelope.md). An absent keyid
 * becomes '' (unset MUST be treated as set-but-empty). At least one signature is required
 * (envelope.proto).
 */
export function envelopeFromJSON(text: string, source?: string): DsseEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw bad(source, 'is not JSON', err);
  }
  if (!isObject(value)) throw bad(source, 'is not a JSON object');
  const { payload, payloadType, signatures } = value;
  if (typeof payload !== 'string') throw bad(source, 'has no string "payload"');
  if (typeof payloadType !== 'string') throw bad(source, 'has no string "payloadType"');
  if (!Array.isArray(signatures)) throw bad(source, 'has no "signatures" array');
  if (signatures.length === 0) throw bad(source, 'has no signature (DSSE requires at least one)');
  if (!decodeBase64(payload)) throw bad(source, 'has a "payload" that is not base64');
  const sigs = signatures.map((s: unknown, i): DsseSignature => {
    if (!isObject(s) || typeof s.sig !== 'string') throw bad(source, `signature ${i} has no string "sig"`);
    if (s.keyid !== undefined && s.keyid !== null && typeof s.keyid !== 'string') throw bad(source, `signature ${i} has a "keyid" that is not a string`);
    if (!decodeBase64(s.sig)) throw bad(source, `signature ${i} has a "sig" that is not base64`);
    return { keyid: typeof s.keyid === 'string' ? s.keyid : '', sig: s.sig };
  });
  return { payload, payloadType, signatures: sigs };
}

/** One line of JSON, no trailing newline: one envelope per line of a `.intoto.jsonl`. */
export function envelopeToJSON(envelope: DsseEnvelope): string {
  return JSON.stringify({
    payload: envelope.payload,
    payloadType: envelope.payloadType,
    signatures: envelope.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })),
  });
}

function bad(source: string | undefined, what: string, cause?: unknown): AttestError {
  return new AttestError('KILN_ATTEST_BAD_ENVELOPE', `${source ?? 'the envelope'} ${what}`, { cause, ...(source !== undefined && { where: { file: source } }) });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
