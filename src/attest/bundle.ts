import { decodeBase64, toBase64 } from './base64.js';
import { AttestError } from './errors.js';
import type { DsseEnvelope } from './types.js';

/** Sigstore bundle v0.3 media type (protobuf-specs sigstore_bundle.proto). */
export const SIGSTORE_BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** A key-based Sigstore bundle v0.3 holding one DSSE envelope (protojson field names). */
export interface SigstoreDsseBundle {
  mediaType: typeof SIGSTORE_BUNDLE_V03_MEDIA_TYPE;
  verificationMaterial: {
    publicKey: { hint: string };
    tlogEntries: never[];
    timestampVerificationData: { rfc3161Timestamps: never[] };
  };
  dsseEnvelope: { payload: string; payloadType: string; signatures: Array<{ sig: string; keyid: string }> };
}

/**
 * Wraps a signed envelope into a key-based Sigstore bundle v0.3 (specs.md §6), for
 * `cosign verify-blob-attestation --key k.pub --bundle x.sigstore.json --insecure-ignore-tlog`.
 * The hint and the envelope's keyid are both the signer's OpenSSH fingerprint: the bundle spec
 * wants them equal, and Go verifiers accept no other non-empty keyid. There is no transparency
 * log entry (kiln does not publish to Rekor): valid for self-managed keys. Bundles hold exactly
 * one signature (clients MUST reject others), so a multi-signed envelope is refused. Base64 is
 * re-encoded to standard form, which is what protojson `bytes` are.
 */
export function toSigstoreBundle(envelope: DsseEnvelope, signer: { keyid: string }): SigstoreDsseBundle {
  if (envelope.signatures.length !== 1) {
    throw new AttestError('KILN_ATTEST_BAD_BUNDLE', `a Sigstore bundle holds exactly one signature, the envelope has ${envelope.signatures.length}`);
  }
  const [signature] = envelope.signatures;
  if (signature!.keyid !== '' && signature!.keyid !== signer.keyid) {
    throw new AttestError('KILN_ATTEST_BAD_BUNDLE', 'the envelope was signed by another key than the bundle names', { expected: signer.keyid, found: signature!.keyid });
  }
  return {
    mediaType: SIGSTORE_BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: {
      publicKey: { hint: signer.keyid },
      tlogEntries: [],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: {
      payload: standard(envelope.payload, 'payload'),
      payloadType: envelope.payloadType,
      signatures: [{ sig: standard(signature!.sig, 'signature'), keyid: signer.keyid }],
    },
  };
}

function standard(text: string, what: string): string {
  const bytes = decodeBase64(text);
  if (!bytes) throw new AttestError('KILN_ATTEST_BAD_ENVELOPE', `the envelope ${what} is not base64`);
  return toBase64(bytes);
}
