import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildSummary } from '../../src/builder/summary.js';
import { parseRecipe } from '../../src/recipe/index.js';
import type { Recipe } from '../../src/recipe/types.js';
import { repoRoot } from '../helpers/index.js';

export const FIXTURES = (): string => join(repoRoot(), 'test', 'fixtures', 'attest');

/** The fixture recipe (every input and image kind) and the summary of a build of it. */
export function loadFixtureBuild(): { recipe: Recipe; summary: BuildSummary } {
  const file = join(FIXTURES(), 'kiln.yaml');
  const recipe = parseRecipe(readFileSync(file, 'utf8'), file);
  const summary = JSON.parse(readFileSync(join(FIXTURES(), 'build.json'), 'utf8')) as BuildSummary;
  return { recipe, summary };
}

/**
 * The DSSE spec's test vector (protocol.md; specs.md §1.6, verbatim): an ECDSA P-256 key
 * given as decimal X, Y, d, and an envelope whose signature is raw r||s over the PAE.
 */
export const DSSE_VECTOR = {
  payloadType: 'http://example.com/HelloWorld',
  body: 'hello world',
  pae: 'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
  X: 46950820868899156662930047687818585632848591499744589407958293238635476079160n,
  Y: 5640078356564379163099075877009565129882514886557779369047442380624545832820n,
  d: 97358161215184420915383655311931858321456579547487070936769975997791359926199n,
  envelope: `{"payload": "aGVsbG8gd29ybGQ=",
 "payloadType": "http://example.com/HelloWorld",
 "signatures": [{"sig": "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="}]}`,
  /** Derived once with ssh-keygen -l over the key (specs.md §1.6). */
  sshFingerprint: 'SHA256:f4AuBLdH4Lj/dIuwAUXXebzoI9B/cJ4iSQ3/qByIl4M',
};

const b64url = (n: bigint): string => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').toString('base64url');

/** The vector's key as PEM, built from its decimal coordinates (not copied from anywhere). */
export function dsseVectorKeys(): { publicKeyPem: string; privateKeyPem: string } {
  const jwk = { kty: 'EC', crv: 'P-256', x: b64url(DSSE_VECTOR.X), y: b64url(DSSE_VECTOR.Y) };
  return {
    publicKeyPem: createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: createPrivateKey({ key: { ...jwk, d: b64url(DSSE_VECTOR.d) }, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Standard base64 → URL-safe without padding. */
export function toUrlSafe(text: string): string {
  return text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
