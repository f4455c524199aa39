import type { TrustMaterial } from '@sigstore/verify';
import { decodePayload, recipeHeader, verifyEnvelopeSignatures, type DigestSet, type DsseEnvelope, type TrustedKey } from '../attest/index.js';
import type { Attestation } from './attestation.js';
import { sigstore } from './sigstore.js';

/**
 * What an attestation claims, for people: who built it, from what, when, which subjects and
 * dependencies, and the signatures' status. Inspection decides nothing: the claims are shown
 * whether or not a signature verifies (`kiln verify` is the judge), and say so.
 */
export interface Inspection {
  kind: Attestation['kind'];
  file: string;
  envelopes: InspectedEnvelope[];
}

export type SignatureStatus = 'trusted' | 'not-trusted' | 'unchecked';

export interface InspectedEnvelope {
  /** The 1-based line in a `.intoto.jsonl`. */
  line?: number;
  payloadType: string;
  /** Set when the payload is not a JSON statement; the other claims are then absent. */
  error?: string;
  statementType?: string;
  predicateType?: string;
  builderId?: string;
  buildType?: string;
  /** kiln provenance: the recipe in externalParameters. */
  recipe?: { name?: string; version?: string; digest?: string };
  /** Provenance from a CI workflow (npm's GitHub Actions provenance): repository, ref, workflow, commit. */
  source?: { repository?: string; ref?: string; workflow?: string; commit?: string };
  invocationId?: string;
  startedOn?: string;
  finishedOn?: string;
  subjects: Array<{ name: string; digest: DigestSet }>;
  dependencies: Array<{ uri?: string; name?: string; digest?: DigestSet }>;
  signatures: Array<{ keyid: string; status: SignatureStatus; key?: string }>;
  /** Keyless bundles: the signing certificate's identity, and the chain's status when a trusted root was given. */
  certificate?: { identity?: string; issuer?: string; notBefore: string; status: SignatureStatus; reason?: string };
  /** Keyless bundles: when the transparency log recorded the signature. */
  loggedAt?: string;
}

export interface InspectOptions {
  /** With keys, each signature says whether one of them made it. */
  keys?: TrustedKey[];
  /** With a trusted root, a keyless bundle's certificate chain and log entry are checked. */
  trustMaterial?: TrustMaterial;
}

/** Fulcio's OIDC issuer extensions (v2 is DER UTF8String, v1 raw ASCII). */
const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';

/** Pure: loaded attestation (and optional trust) in, a summary out. */
export function inspectAttestation(attestation: Attestation, options: InspectOptions = {}): Inspection {
  switch (attestation.kind) {
    case 'dsse':
      return {
        kind: 'dsse',
        file: attestation.file,
        envelopes: attestation.envelopes.map((e, i) => ({ line: attestation.lines[i]!, ...inspectEnvelope(e, options.keys) })),
      };
    case 'sigstore': {
      const inspected = inspectEnvelope(attestation.envelope, attestation.keyless ? undefined : options.keys);
      if (attestation.keyless) {
        const { bundle } = attestation;
        const material = bundle.verificationMaterial.content;
        const raw =
          material.$case === 'certificate' ? material.certificate.rawBytes : material.$case === 'x509CertificateChain' ? material.x509CertificateChain.certificates[0]?.rawBytes : undefined;
        if (raw) {
          const { core, verify } = sigstore();
          const cert = core.X509Certificate.parse(Buffer.from(raw));
          const v2 = cert.extension(OID_ISSUER_V2)?.valueObj.subs[0]?.value.toString('ascii');
          const issuer = v2 ?? cert.extension(OID_ISSUER_V1)?.value.toString('ascii');
          let status: SignatureStatus = 'unchecked';
          let reason: string | undefined;
          if (options.trustMaterial) {
            try {
              new verify.Verifier(options.trustMaterial).verify(verify.toSignedEntity(bundle));
              status = 'trusted';
            } catch (err) {
              status = 'not-trusted';
              reason = (err as Error).message;
            }
          }
          inspected.certificate = {
            ...(cert.subjectAltName !== undefined && { identity: cert.subjectAltName }),
            ...(issuer !== undefined && { issuer }),
            notBefore: cert.notBefore.toISOString(),
            status,
            ...(reason !== undefined && { reason }),
          };
          inspected.signatures = inspected.signatures.map((s) => ({ ...s, status }));
        }
        const logged = bundle.verificationMaterial.tlogEntries.map((e) => Number(e.integratedTime)).find((t) => t > 0);
        if (logged !== undefined) inspected.loggedAt = new Date(logged * 1000).toISOString();
      }
      return { kind: 'sigstore', file: attestation.file, envelopes: [inspected] };
    }
  }
}

function inspectEnvelope(envelope: DsseEnvelope, keys: TrustedKey[] | undefined): InspectedEnvelope {
  const signatures = signatureStatus(envelope, keys);
  const base: InspectedEnvelope = { payloadType: envelope.payloadType, subjects: [], dependencies: [], signatures };
  let statement: Record<string, unknown>;
  try {
    const parsed = JSON.parse(decodePayload(envelope).toString('utf8')) as unknown;
    statement = record(parsed);
    if (statement !== parsed) throw new Error('the payload is not a JSON object');
  } catch (err) {
    return { ...base, error: `payload unreadable: ${(err as Error).message}` };
  }
  // Lenient on purpose: inspect shows Statement v0.1 and provenance v0.2 as well.
  const predicate = record(statement.predicate);
  const definition = record(predicate.buildDefinition);
  const runDetails = record(predicate.runDetails);
  const metadata = record(runDetails.metadata);
  const external = record(definition.externalParameters);
  const dependencies = list(definition.resolvedDependencies ?? predicate.materials).map((d) => {
    const r = record(d);
    return { ...(str(r.uri) && { uri: str(r.uri)! }), ...(str(r.name) && { name: str(r.name)! }), ...(isDigestSet(r.digest) && { digest: r.digest }) };
  });
  const out: InspectedEnvelope = {
    ...base,
    subjects: list(statement.subject).map((s) => {
      const r = record(s);
      return { name: str(r.name) ?? '_', digest: isDigestSet(r.digest) ? r.digest : {} };
    }),
    dependencies,
  };
  assign(out, 'statementType', str(statement._type));
  assign(out, 'predicateType', str(statement.predicateType));
  assign(out, 'builderId', str(record(runDetails.builder).id) ?? str(record(predicate.builder).id));
  assign(out, 'buildType', str(definition.buildType) ?? str(predicate.buildType));
  assign(out, 'invocationId', str(metadata.invocationId) ?? str(record(predicate.metadata).buildInvocationId));
  assign(out, 'startedOn', str(metadata.startedOn) ?? str(record(predicate.metadata).buildStartedOn));
  assign(out, 'finishedOn', str(metadata.finishedOn) ?? str(record(predicate.metadata).buildFinishedOn));
  const recipe = record(external.recipe);
  if (Object.keys(recipe).length > 0) {
    // kiln's externalParameters.recipe: { path, digest: { sha256 }, content } (docs/buildtypes/recipe-v1.md).
    out.recipe = {};
    const content = recipeHeader(str(recipe.content));
    assign(out.recipe, 'name', str(recipe.name) ?? content.name ?? str(recipe.path));
    assign(out.recipe, 'version', str(recipe.version) ?? content.version);
    const digest = recipe.digest;
    assign(out.recipe, 'digest', str(digest) ?? (isDigestSet(digest) && digest.sha256 ? `sha256:${digest.sha256}` : undefined));
  }
  const workflow = record(external.workflow);
  if (Object.keys(workflow).length > 0) {
    out.source = {};
    assign(out.source, 'repository', str(workflow.repository));
    assign(out.source, 'ref', str(workflow.ref));
    assign(out.source, 'workflow', str(workflow.path));
    assign(out.source, 'commit', dependencies.find((d) => d.digest?.gitCommit)?.digest?.gitCommit);
  }
  return out;
}

function signatureStatus(envelope: DsseEnvelope, keys: TrustedKey[] | undefined): InspectedEnvelope['signatures'] {
  return envelope.signatures.map((s) => {
    if (!keys || keys.length === 0) return { keyid: s.keyid, status: 'unchecked' as const };
    // One signature at a time, so each is attributed to the key that made it.
    const single: DsseEnvelope = { ...envelope, signatures: [s] };
    let valid: string[] = [];
    try {
      valid = verifyEnvelopeSignatures(single, keys).validKeyids;
    } catch {
      valid = [];
    }
    const key = keys.find((k) => valid.includes(k.keyid));
    return key ? { keyid: s.keyid, status: 'trusted' as const, key: key.label } : { keyid: s.keyid, status: 'not-trusted' as const };
  });
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isDigestSet(value: unknown): value is DigestSet {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

function assign<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}
