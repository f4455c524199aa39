import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmod, link, readFile, rm, writeFile } from 'node:fs/promises';
import { AttestError } from './errors.js';
import type { KeyAlgorithm, Signer, TrustedKey } from './types.js';

/**
 * Keys: ed25519 (default) and ECDSA P-256 with SHA-256, as PEM (PKCS#8 private, SPKI public),
 * the forms cosign's `--key` and securesystemslib read (specs.md §5.3). The key id everywhere
 * is the OpenSSH `SHA256:` fingerprint: the only non-empty keyid Go verifiers accept (§1.5).
 */

export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = 'ed25519';
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ed25519', 'ecdsa-p256'];

export function generateKeyPair(algorithm: KeyAlgorithm = DEFAULT_KEY_ALGORITHM): { privateKeyPem: string; publicKeyPem: string } {
  const pair =
    algorithm === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** A signer from a PEM private key (PKCS#8, or SEC1 `EC PRIVATE KEY`); the algorithm comes from the key. */
export function createSigner(privateKeyPem: string, label = 'private key'): Signer {
  if (!/-----BEGIN (EC )?PRIVATE KEY-----/.test(privateKeyPem)) {
    throw new AttestError('KILN_ATTEST_BAD_KEY', `${label} is not an unencrypted PEM private key`, {
      expected: '-----BEGIN PRIVATE KEY----- (PKCS#8)',
      hint: /ENCRYPTED/.test(privateKeyPem) ? 'decrypt it first; kiln reads unencrypted keys' : 'make one with `kiln keygen --out <prefix>`',
    });
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: privateKeyPem, format: 'pem' });
  } catch (err) {
    throw new AttestError('KILN_ATTEST_BAD_KEY', `${label} is not a readable PEM private key`, { cause: err });
  }
  const algorithm = keyAlgorithm(privateKey, label);
  const publicKey = createPublicKey(privateKey);
  return {
    algorithm,
    keyid: sshFingerprint(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    // ed25519 signs the message itself (no pre-hash, specs.md §1.7); ECDSA hashes with SHA-256
    // and emits ASN.1 DER, which is what cosign and sigstore-go emit and all verifiers accept.
    sign: (data) => (algorithm === 'ed25519' ? sign(null, data, privateKey) : sign('sha256', data, { key: privateKey, dsaEncoding: 'der' })),
  };
}

/** A trusted key from a PEM SPKI public key; the algorithm comes from the key. */
export function loadTrustedKey(publicKeyPem: string, label: string): TrustedKey {
  if (!/-----BEGIN PUBLIC KEY-----/.test(publicKeyPem)) {
    // A private key would also yield a public key, but handing one to a verifier is a slip
    // worth stopping: the private key would travel wherever the verifier's inputs go.
    throw new AttestError('KILN_ATTEST_BAD_KEY', `${label} is not a PEM public key`, { expected: '-----BEGIN PUBLIC KEY----- (SPKI)' });
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: publicKeyPem, format: 'pem' });
  } catch (err) {
    throw new AttestError('KILN_ATTEST_BAD_KEY', `${label} is not a readable PEM public key`, { cause: err });
  }
  const algorithm = keyAlgorithm(publicKey, label);
  return {
    algorithm,
    keyid: sshFingerprint(publicKey),
    publicKey,
    label,
    verify: (data, signature) => verifySignature(algorithm, publicKey, data, signature),
  };
}

function verifySignature(algorithm: KeyAlgorithm, publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (algorithm === 'ed25519') return verify(null, data, publicKey, signature);
    // DER is what signers emit; raw r||s (IEEE P1363) is what the DSSE spec's own test vector
    // uses and what sigstore's verifier also accepts (specs.md §1.7).
    if (verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, signature)) return true;
  } catch {
    // A malformed DER signature throws in OpenSSL; it is simply not a valid signature.
  }
  if (algorithm === 'ecdsa-p256' && signature.length === 64) {
    try {
      return verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
    } catch {
      return false;
    }
  }
  return false;
}

function keyAlgorithm(key: KeyObject, label: string): KeyAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256';
  const found = key.asymmetricKeyType === 'ec' ? `ec ${key.asymmetricKeyDetails?.namedCurve}` : String(key.asymmetricKeyType);
  throw new AttestError('KILN_ATTEST_UNSUPPORTED_KEY', `${label} is a ${found} key; kiln signs with ed25519 or ECDSA P-256`, {
    expected: 'ed25519 or ecdsa-p256',
    found,
  });
}

/**
 * The OpenSSH fingerprint, as `ssh-keygen -l` prints it: `SHA256:` + unpadded base64 of the
 * SHA-256 of the key's SSH wire encoding (RFC 4251 §5 strings; RFC 8709 §4 for ed25519, RFC
 * 5656 §3.1 for P-256). go-securesystemslib derives exactly this when a verifier has no key
 * id, so an envelope keyid equal to it is never skipped (specs.md §1.5).
 */
export function sshFingerprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  let wire: Buffer;
  if (publicKey.asymmetricKeyType === 'ed25519' && jwk.x) {
    wire = Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.from(jwk.x, 'base64url'))]);
  } else if (publicKey.asymmetricKeyType === 'ec' && jwk.crv === 'P-256' && jwk.x && jwk.y) {
    const point = Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
    wire = Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(point)]);
  } else {
    throw new AttestError('KILN_ATTEST_UNSUPPORTED_KEY', `no OpenSSH fingerprint for a ${String(publicKey.asymmetricKeyType)} key`);
  }
  return `SHA256:${createHash('sha256').update(wire).digest('base64').replace(/=+$/, '')}`;
}

function sshString(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

export async function readSigner(file: string): Promise<Signer> {
  return createSigner(await readKeyFile(file), file);
}

export async function readTrustedKey(file: string): Promise<TrustedKey> {
  return loadTrustedKey(await readKeyFile(file), file);
}

async function readKeyFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new AttestError('KILN_ATTEST_KEY_FILE', `cannot read key file ${file}: ${(err as Error).message}`, { cause: err, where: { file } });
  }
}

/**
 * Writes a new pair as `<prefix>.key` (PKCS#8, mode 0600) and `<prefix>.pub` (SPKI). Never
 * overwrites: losing a signing key to a mistyped prefix cannot be undone. Each file is written
 * in full to a temp file first and then hard-linked into place, which fails if the name exists,
 * so a reader never sees half a key and two keygens cannot interleave.
 */
export async function writeKeyPair(prefix: string, algorithm: KeyAlgorithm = DEFAULT_KEY_ALGORITHM): Promise<{ privateKeyFile: string; publicKeyFile: string }> {
  const { privateKeyPem, publicKeyPem } = generateKeyPair(algorithm);
  const privateKeyFile = `${prefix}.key`;
  const publicKeyFile = `${prefix}.pub`;
  await writeNewFile(privateKeyFile, privateKeyPem, 0o600);
  try {
    await writeNewFile(publicKeyFile, publicKeyPem, 0o644);
  } catch (err) {
    // Half a pair is useless and the private half is a secret lying around: take it back.
    await rm(privateKeyFile, { force: true });
    throw err;
  }
  return { privateKeyFile, publicKeyFile };
}

export interface KeygenOptions {
  /** The pair is written as `<out>.key` and `<out>.pub`. */
  out: string;
  /** Default ed25519. */
  type?: KeyAlgorithm;
}

export interface KeygenResult {
  algorithm: KeyAlgorithm;
  /** The OpenSSH `SHA256:` fingerprint: the key id signatures carry. */
  keyid: string;
  privateKeyFile: string;
  publicKeyFile: string;
}

/** `kiln keygen` as one call: a new pair (writeKeyPair, never overwriting) and its key id. */
export async function keygen(options: KeygenOptions): Promise<KeygenResult> {
  const algorithm = options.type ?? DEFAULT_KEY_ALGORITHM;
  if (!KEY_ALGORITHMS.includes(algorithm)) {
    throw new AttestError('KILN_ATTEST_UNSUPPORTED_KEY', `key type "${algorithm}" is not supported`, { expected: KEY_ALGORITHMS.join(' or ') });
  }
  const files = await writeKeyPair(options.out, algorithm);
  const { keyid } = createSigner(await readFile(files.privateKeyFile, 'utf8'), files.privateKeyFile);
  return { algorithm, keyid, ...files };
}

async function writeNewFile(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    // `mode` at creation (before any byte is written) and chmod after: the umask may only narrow it.
    await writeFile(tmp, text, { mode, flag: 'wx' });
    await chmod(tmp, mode);
    await link(tmp, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new AttestError('KILN_ATTEST_KEY_EXISTS', `${file} already exists; kiln keygen does not overwrite keys`, { where: { file }, hint: 'choose another --out prefix or remove the old pair' });
    }
    throw new AttestError('KILN_ATTEST_KEY_FILE', `cannot write ${file}: ${(err as Error).message}`, { cause: err, where: { file } });
  } finally {
    await rm(tmp, { force: true });
  }
}
