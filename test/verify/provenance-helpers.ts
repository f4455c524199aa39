// Typed builders for verification tests: artifacts hashed in memory, kiln-like provenance,
// envelopes signed with the attest API (never a hand-written DSSE).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  BUILD_TYPE_KILN_RECIPE_V1,
  createSigner,
  envelopeToJSON,
  generateKeyPair,
  loadTrustedKey,
  makeStatement,
  PAYLOAD_TYPE_INTOTO,
  PREDICATE_SLSA_PROVENANCE_V1,
  signEnvelope,
  type DsseEnvelope,
  type KeyAlgorithm,
  type ResourceDescriptor,
  type Signer,
  type Statement,
  type TrustedKey,
} from '../../src/attest/index.js';
import type { HashedArtifact } from '../../src/verify/index.js';
import { repoRoot } from '../helpers/index.js';

export const BUILDER_ID = 'https://kiln.example.org/builders/local/v1';

export function npmFixture(name: string): string {
  return join(repoRoot(), 'test', 'fixtures', 'npm-provenance', name);
}

export const NPM = {
  tarball: 'playwright-cli-0.1.1.tgz',
  bundle: 'playwright-cli-0.1.1.provenance.sigstore.json',
  attestations: 'playwright-cli-0.1.1.attestations.json',
  trustedRoot: 'trusted_root.json',
  identity: 'https://github.com/microsoft/playwright-cli/.github/workflows/publish.yml@refs/tags/v0.1.1',
  issuer: 'https://token.actions.githubusercontent.com',
} as const;

/** An artifact as hashArtifact would return it, from bytes in memory. */
export function artifactOf(name: string, content: string | Buffer): HashedArtifact {
  const bytes = Buffer.from(content);
  return {
    path: name,
    name,
    size: bytes.length,
    digests: { sha256: createHash('sha256').update(bytes).digest('hex'), sha512: createHash('sha512').update(bytes).digest('hex') },
  };
}

export interface KeyPair {
  signer: Signer;
  trusted: TrustedKey;
}

export function makeKey(label: string, algorithm: KeyAlgorithm = 'ed25519'): KeyPair {
  const { privateKeyPem, publicKeyPem } = generateKeyPair(algorithm);
  return { signer: createSigner(privateKeyPem, label), trusted: loadTrustedKey(publicKeyPem, `${label}.pub`) };
}

export interface ProvenanceOptions {
  builderId?: string;
  buildType?: string;
  dependencies?: ResourceDescriptor[];
  predicateType?: string;
}

/** SLSA provenance v1 shaped like kiln's, with every artifact as a subject (sha256 + sha512). */
export function makeProvenance(artifacts: HashedArtifact[], options: ProvenanceOptions = {}): Statement {
  return makeStatement(
    artifacts.map((a) => ({ name: a.name, digest: { sha256: a.digests.sha256, sha512: a.digests.sha512 } })),
    options.predicateType ?? PREDICATE_SLSA_PROVENANCE_V1,
    {
      buildDefinition: {
        buildType: options.buildType ?? BUILD_TYPE_KILN_RECIPE_V1,
        externalParameters: { recipe: { path: 'kiln.yaml', digest: { sha256: 'ab'.repeat(32) }, content: 'kiln: 1\nname: hello\nversion: "2.12"\n' } },
        resolvedDependencies: options.dependencies ?? [dependency(0)],
      },
      runDetails: {
        builder: { id: options.builderId ?? BUILDER_ID },
        metadata: { invocationId: 'test-1', startedOn: '2024-01-01T00:00:00Z', finishedOn: '2024-01-01T00:01:00Z' },
      },
    },
  );
}

/** A pinned dependency, distinct per `i`. */
export function dependency(i: number): ResourceDescriptor {
  return { uri: `https://example.org/dep-${i}.tar.gz`, name: `input:dep-${i}`, digest: { sha256: createHash('sha256').update(`dep ${i}`).digest('hex') } };
}

export function statementPayload(statement: unknown): Buffer {
  return Buffer.from(JSON.stringify(statement), 'utf8');
}

export function sign(statement: unknown, signers: Signer[], payloadType: string = PAYLOAD_TYPE_INTOTO): DsseEnvelope {
  return signEnvelope(statementPayload(statement), payloadType, signers);
}

export function jsonl(...envelopes: DsseEnvelope[]): string {
  return envelopes.map((e) => envelopeToJSON(e) + '\n').join('');
}
