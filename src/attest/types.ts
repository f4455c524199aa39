/**
 * Attestation formats (see ../shared/research/specs.md): DSSE v1 envelopes, in-toto
 * Statement v1, SLSA Provenance v1, SLSA VSA v1. Types only; builders and codecs live beside.
 */
import type { KeyObject } from 'node:crypto';

export const PAYLOAD_TYPE_INTOTO = 'application/vnd.in-toto+json';
export const STATEMENT_TYPE_V1 = 'https://in-toto.io/Statement/v1';
/** What cosign (`attest-blob --predicate`, v3) and BuildKit still write; read like v1, never written. */
export const STATEMENT_TYPE_V01 = 'https://in-toto.io/Statement/v0.1';
export const PREDICATE_SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const PREDICATE_SLSA_VSA_V1 = 'https://slsa.dev/verification_summary/v1';
export const PREDICATE_CYCLONEDX = 'https://cyclonedx.org/bom';

export interface DsseSignature {
  /** '' or the OpenSSH fingerprint `SHA256:<unpadded base64>` (the only value Go verifiers accept). */
  keyid: string;
  /** Standard base64 with padding. */
  sig: string;
}

export interface DsseEnvelope {
  /** Standard base64 (with padding) of the serialized statement. */
  payload: string;
  payloadType: string;
  signatures: DsseSignature[];
}

/** in-toto DigestSet: algorithm → lowercase hex. */
export type DigestSet = Record<string, string>;

export interface ResourceDescriptor {
  uri?: string;
  digest?: DigestSet;
  name?: string;
  downloadLocation?: string;
  mediaType?: string;
  content?: string;
  annotations?: Record<string, unknown>;
}

export interface Statement<P = unknown> {
  /** kiln writes v1; it reads v0.1 too (same fields for everything kiln checks). */
  _type: typeof STATEMENT_TYPE_V1 | typeof STATEMENT_TYPE_V01;
  subject: Array<ResourceDescriptor & { name: string; digest: DigestSet }>;
  predicateType: string;
  predicate: P;
}

export type KeyAlgorithm = 'ed25519' | 'ecdsa-p256';

/** A private key that signs (ed25519 or ECDSA P-256 with SHA-256, DER signature). */
export interface Signer {
  algorithm: KeyAlgorithm;
  /** The OpenSSH `SHA256:` fingerprint of the public key. */
  keyid: string;
  publicKeyPem: string;
  sign(data: Uint8Array): Buffer;
}

/** A public key a verifier trusts. */
export interface TrustedKey {
  algorithm: KeyAlgorithm;
  keyid: string;
  publicKey: KeyObject;
  /** Where it came from (file name), for messages. */
  label: string;
  verify(data: Uint8Array, signature: Uint8Array): boolean;
}
