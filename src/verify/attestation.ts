import { createHash } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import { envelopeFromJSON, PREDICATE_SLSA_PROVENANCE_V1, UNSIGNED_STATEMENTS_FORMAT, type DsseEnvelope } from '../attest/index.js';
import { isKilnError, type SourceLocation } from '../util/errors.js';
import { BUDGET_NAMES, MAX_ATTESTATION_BYTES } from '../util/limits.js';
import { readFileBounded } from '../util/read-bounded.js';
import { VerifyError } from './errors.js';
import { sigstore } from './sigstore.js';

/** Sigstore bundle media types: v0.3 and the legacy `+json;version=` forms clients must accept. */
const SIGSTORE_BUNDLE_MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.bundle(\.v0\.\d+\+json|\+json;version=0\.\d+)$/;

/**
 * An attestation file as loaded, before any trust decision.
 * - `dsse`: one JSON envelope, or a `.intoto.jsonl` (one envelope a line; `lines[i]` is the
 *   1-based line of `envelopes[i]`), checked with `--key`.
 * - `sigstore`: a Sigstore bundle carrying a DSSE envelope. `keyless` when its verification
 *   material is a certificate (checked against a trusted root and an expected identity);
 *   otherwise a key-based bundle (kiln's own form, a publicKey hint), whose envelope is checked
 *   with `--key` like a plain one.
 */
export type Attestation = (
  | { kind: 'dsse'; file: string; envelopes: DsseEnvelope[]; lines: number[] }
  | { kind: 'sigstore'; file: string; bundle: Bundle; envelope: DsseEnvelope; keyless: boolean }
) & {
  /**
   * Lowercase hex sha256 of the file's bytes: how a rebuild verdict names the provenance it
   * was made from (VSA inputAttestations), and how `kiln verify --rebuilds` ties it back.
   */
  sha256: string;
};

/** Reads and parses an attestation file (see parseAttestationFile). */
export async function readAttestationFile(file: string): Promise<Attestation> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readFileBounded(file, MAX_ATTESTATION_BYTES);
  } catch (err) {
    throw new VerifyError('KILN_VERIFY_UNREADABLE', `cannot read attestation ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      where: { file },
      cause: err,
    });
  }
  if (bytes === undefined) throw attestationTooLarge(file);
  return parseAttestationFile(bytes, file);
}

/**
 * Recognizes a DSSE envelope, a JSON Lines bundle of envelopes, a Sigstore bundle, or the npm
 * registry's attestations document (`{"attestations": [{predicateType, bundle}]}`, from which
 * the SLSA provenance bundle is taken). Pure; `file` only names the source in errors.
 * Throws VerifyError KILN_VERIFY_BAD_ATTESTATION with file:line.
 */
export function parseAttestationFile(input: string | Uint8Array, file: string): Attestation {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length > MAX_ATTESTATION_BYTES) throw attestationTooLarge(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { ...parseAttestationText(bytes.toString('utf8'), file), sha256 };
}

function parseAttestationText(text: string, file: string): DistributiveOmit<Attestation, 'sha256'> {
  const whole = tryJSON(text);
  if (whole.ok) return fromDocument(whole.value, text, file);
  const lines = text.split('\n');
  // A single (pretty-printed) JSON document that does not parse: its first line is not JSON
  // on its own. Report it where JSON.parse stopped.
  const first = lines.find((l) => l.trim() !== '');
  if (first === undefined || !tryJSON(first).ok) {
    throw new VerifyError('KILN_VERIFY_BAD_ATTESTATION', `not JSON: ${whole.error.message}`, { where: locateJSONError(text, whole.error, file) });
  }
  // JSON Lines: consumers MUST ignore unrecognized lines and MUST NOT depend on their order
  // (in-toto spec/v1/bundle.md); a line that is not JSON at all means a corrupt file, though.
  const envelopes: DsseEnvelope[] = [];
  const at: number[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const parsed = tryJSON(line);
    if (!parsed.ok) {
      const where = locateJSONError(line, parsed.error, file);
      throw new VerifyError('KILN_VERIFY_BAD_ATTESTATION', `line ${i + 1} is not JSON: ${parsed.error.message}`, {
        where: { file, line: i + 1, ...(where.column !== undefined && { column: where.column }) },
      });
    }
    if (!isEnvelopeLike(parsed.value)) return;
    envelopes.push(toEnvelope(line, { file, line: i + 1 }));
    at.push(i + 1);
  });
  if (envelopes.length === 0) throw new VerifyError('KILN_VERIFY_BAD_ATTESTATION', 'no DSSE envelope in this file', { where: { file } });
  return { kind: 'dsse', file, envelopes, lines: at };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function attestationTooLarge(file: string): VerifyError {
  return new VerifyError('KILN_VERIFY_TOO_LARGE', `attestation ${file} is larger than ${MAX_ATTESTATION_BYTES} bytes (budget ${BUDGET_NAMES.attestation})`, {
    where: { file },
    budget: { name: BUDGET_NAMES.attestation, limit: MAX_ATTESTATION_BYTES },
  });
}

function fromDocument(value: unknown, text: string, file: string): DistributiveOmit<Attestation, 'sha256'> {
  if (isRecord(value) && typeof value.mediaType === 'string' && SIGSTORE_BUNDLE_MEDIA_TYPE.test(value.mediaType)) {
    return fromBundle(value, file);
  }
  if (isRecord(value) && Array.isArray(value.attestations)) {
    const entries = value.attestations.filter(isRecord);
    const chosen = entries.find((a) => a.predicateType === PREDICATE_SLSA_PROVENANCE_V1) ?? entries[0];
    if (!chosen || !isRecord(chosen.bundle)) {
      throw new VerifyError('KILN_VERIFY_BAD_ATTESTATION', 'the attestations document holds no Sigstore bundle', { where: { file, line: 1 } });
    }
    return fromBundle(chosen.bundle, file);
  }
  if (isRecord(value) && value.kiln === UNSIGNED_STATEMENTS_FORMAT) {
    throw new VerifyError('KILN_VERIFY_BAD_ATTESTATION', 'these statements are unsigned: there is nothing to verify', {
      where: { file, line: 1 },
      hint: 'build with a signing key (kiln keygen, then --sign-key) to get <name>.intoto.jsonl',
    });
  }
  if (isEnvelopeLike(value)) return { kind: 'dsse', file, envelopes: [toEnvelope(text, { file, line: 1 })], lines: [1] };
  throw new VerifyError('KILN_VERIFY_BAD_ATTESTATION', 'neither a DSSE envelope nor a Sigstore bundle', {
    where: { file, line: 1 },
    hint: 'expected {"payloadType","payload","signatures"}, JSON Lines of those, or a bundle with a "mediaType" of application/vnd.dev.sigstore.bundle…',
  });
}

function fromBundle(json: Record<string, unknown>, file: string): DistributiveOmit<Attestation, 'sha256'> {
  let bundle: Bundle;
  try {
    bundle = sigstore().bundle.bundleFromJSON(json);
  } catch (err) {
    throw new VerifyError('KILN_VERIFY_BAD_ATTESTATION', `invalid Sigstore bundle: ${(err as Error).message}`, { where: { file }, cause: err });
  }
  if (bundle.content.$case !== 'dsseEnvelope' || !isRecord(json.dsseEnvelope)) {
    throw new VerifyError('KILN_VERIFY_BAD_ATTESTATION', 'the Sigstore bundle signs a message, not an attestation (no dsseEnvelope)', { where: { file } });
  }
  // The bundle's envelope JSON is protojson: the same field names and std base64 as DSSE's.
  const envelope = toEnvelope(JSON.stringify(json.dsseEnvelope), { file });
  const keyless = bundle.verificationMaterial.content.$case !== 'publicKey';
  return { kind: 'sigstore', file, bundle, envelope, keyless };
}

function toEnvelope(text: string, where: SourceLocation): DsseEnvelope {
  try {
    return envelopeFromJSON(text, where.line === undefined ? where.file : `${where.file}:${where.line}`);
  } catch (err) {
    if (isKilnError(err)) {
      throw new VerifyError('KILN_VERIFY_BAD_ATTESTATION', `invalid DSSE envelope: ${err.message}`, { where, cause: err });
    }
    throw err;
  }
}

function isEnvelopeLike(value: unknown): boolean {
  return isRecord(value) && 'payloadType' in value && 'payload' in value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function tryJSON(text: string): { ok: true; value: unknown } | { ok: false; error: Error } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: err as Error };
  }
}

/** JSON.parse names a character offset ("at position 12"); turn it into line and column. */
function locateJSONError(text: string, error: Error, file: string): SourceLocation {
  const m = /position (\d+)/.exec(error.message);
  if (!m) return { file, line: 1 };
  const offset = Math.min(Number(m[1]), text.length);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { file, line, column };
}
