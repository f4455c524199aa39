import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  createSigner,
  generateKeyPair,
  keygen,
  loadTrustedKey,
  readSigner,
  readTrustedKey,
  sshFingerprint,
  writeKeyPair,
  type KeyAlgorithm,
} from '../../src/attest/index.js';
import { makeTempDir, rejectsWithCode, throwsWithCode } from '../helpers/index.js';
import { DSSE_VECTOR, dsseVectorKeys } from './support.js';

const ALGORITHMS: KeyAlgorithm[] = ['ed25519', 'ecdsa-p256'];
const SSH_KEYGEN = ['/usr/bin/ssh-keygen', '/bin/ssh-keygen'].find((p) => existsSync(p));

const gen = suite('generateKeyPair');

gen('makes ed25519 by default, as PKCS#8 and SPKI PEM', () => {
  const pair = generateKeyPair();
  assert.match(pair.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.match(pair.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/);
  assert.is(createSigner(pair.privateKeyPem).algorithm, 'ed25519');
});

gen('makes ECDSA P-256 on request', () => {
  const pair = generateKeyPair('ecdsa-p256');
  assert.is(createSigner(pair.privateKeyPem).algorithm, 'ecdsa-p256');
  assert.is(loadTrustedKey(pair.publicKeyPem, 'k').algorithm, 'ecdsa-p256');
});

const signer = suite('createSigner');

for (const algorithm of ALGORITHMS) {
  signer(`${algorithm}: keyid and public key agree with the trusted key made from the .pub`, () => {
    const pair = generateKeyPair(algorithm);
    const s = createSigner(pair.privateKeyPem);
    const t = loadTrustedKey(pair.publicKeyPem, 'k.pub');
    assert.is(s.keyid, t.keyid);
    assert.is(s.publicKeyPem, pair.publicKeyPem);
    assert.ok(t.verify(Buffer.from('m'), s.sign(Buffer.from('m'))));
  });
}

signer('reads a SEC1 "EC PRIVATE KEY" too', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sec1 = privateKey.export({ type: 'sec1', format: 'pem' }).toString();
  assert.is(createSigner(sec1).algorithm, 'ecdsa-p256');
});

signer('refuses an RSA key as unsupported', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  throwsWithCode(() => createSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()), 'KILN_ATTEST_UNSUPPORTED_KEY');
});

signer('refuses a P-384 key as unsupported', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  throwsWithCode(() => createSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()), 'KILN_ATTEST_UNSUPPORTED_KEY');
});

signer('refuses a public key, an encrypted key and garbage', () => {
  throwsWithCode(() => createSigner(generateKeyPair().publicKeyPem), 'KILN_ATTEST_BAD_KEY');
  const { privateKey } = generateKeyPairSync('ed25519');
  const encrypted = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
  throwsWithCode(() => createSigner(encrypted), 'KILN_ATTEST_BAD_KEY');
  throwsWithCode(() => createSigner('-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n'), 'KILN_ATTEST_BAD_KEY');
});

const trusted = suite('loadTrustedKey');

trusted('refuses a private key where a public key belongs', () => {
  throwsWithCode(() => loadTrustedKey(generateKeyPair().privateKeyPem, 'k.key'), 'KILN_ATTEST_BAD_KEY');
});

trusted('keeps the label for messages', () => {
  assert.is(loadTrustedKey(generateKeyPair().publicKeyPem, 'release.pub').label, 'release.pub');
});

trusted('rejects a malformed signature instead of throwing', () => {
  const t = loadTrustedKey(generateKeyPair('ecdsa-p256').publicKeyPem, 'k');
  assert.is(t.verify(Buffer.from('m'), Buffer.from([0x30, 0x01, 0x02])), false);
  assert.is(t.verify(Buffer.from('m'), Buffer.alloc(64)), false);
});

const fp = suite('sshFingerprint');

fp('gives the DSSE vector key the fingerprint ssh-keygen printed for it (specs.md §1.6)', () => {
  assert.is(loadTrustedKey(dsseVectorKeys().publicKeyPem, 'v').keyid, DSSE_VECTOR.sshFingerprint);
});

fp('has the OpenSSH shape: SHA256: and 43 unpadded base64 characters', () => {
  const k = loadTrustedKey(generateKeyPair().publicKeyPem, 'k');
  assert.match(sshFingerprint(k.publicKey), /^SHA256:[A-Za-z0-9+/]{43}$/);
});

if (SSH_KEYGEN) {
  // The keys come from ssh-keygen, so neither the key bytes nor the fingerprint are computed by
  // kiln: P-256 is exported by ssh-keygen as SPKI PEM; ssh-keygen cannot export ed25519 as PEM,
  // so its 32 raw bytes are taken from the OpenSSH .pub line and put behind the fixed RFC 8410
  // SPKI prefix for ed25519.
  const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

  fp('equals `ssh-keygen -l` for an ECDSA P-256 key made by ssh-keygen', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const key = join(dir, 'k');
      execFileSync(SSH_KEYGEN, ['-q', '-t', 'ecdsa', '-b', '256', '-N', '', '-C', '', '-f', key]);
      const pem = execFileSync(SSH_KEYGEN, ['-e', '-m', 'PKCS8', '-f', `${key}.pub`], { encoding: 'utf8' });
      const expected = execFileSync(SSH_KEYGEN, ['-l', '-f', `${key}.pub`], { encoding: 'utf8' }).split(' ')[1];
      assert.is(loadTrustedKey(pem, 'k.pub').keyid, expected);
    } finally {
      await cleanup();
    }
  });

  fp('equals `ssh-keygen -l` for an ed25519 key made by ssh-keygen', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const key = join(dir, 'k');
      execFileSync(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', key]);
      const wire = Buffer.from((await readFile(`${key}.pub`, 'utf8')).split(' ')[1]!, 'base64');
      const raw = wire.subarray(wire.length - 32);
      const body = Buffer.concat([ED25519_SPKI_PREFIX, raw]).toString('base64');
      const pem = `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`;
      const expected = execFileSync(SSH_KEYGEN, ['-l', '-f', `${key}.pub`], { encoding: 'utf8' }).split(' ')[1];
      assert.is(loadTrustedKey(pem, 'k.pub').keyid, expected);
    } finally {
      await cleanup();
    }
  });
}

const write = suite('writeKeyPair');

for (const algorithm of ALGORITHMS) {
  write(`${algorithm}: writes <prefix>.key with mode 0600 and <prefix>.pub, and they belong together`, async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const files = await writeKeyPair(join(dir, 'release'), algorithm);
      assert.is(files.privateKeyFile, join(dir, 'release.key'));
      assert.is(files.publicKeyFile, join(dir, 'release.pub'));
      assert.is((await stat(files.privateKeyFile)).mode & 0o777, 0o600);
      const s = await readSigner(files.privateKeyFile);
      const t = await readTrustedKey(files.publicKeyFile);
      assert.is(s.algorithm, algorithm);
      assert.is(s.keyid, t.keyid);
      assert.equal((await readdir(dir)).sort(), ['release.key', 'release.pub']);
    } finally {
      await cleanup();
    }
  });
}

write('keeps mode 0600 under a permissive umask', async () => {
  const { dir, cleanup } = await makeTempDir();
  const old = process.umask(0o000);
  try {
    const files = await writeKeyPair(join(dir, 'k'));
    assert.is((await stat(files.privateKeyFile)).mode & 0o777, 0o600);
  } finally {
    process.umask(old);
    await cleanup();
  }
});

write('never overwrites an existing key, and leaves it as it was', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeFile(join(dir, 'k.key'), 'precious');
    await rejectsWithCode(() => writeKeyPair(join(dir, 'k')), 'KILN_ATTEST_KEY_EXISTS');
    assert.is(await readFile(join(dir, 'k.key'), 'utf8'), 'precious');
    assert.equal((await readdir(dir)).sort(), ['k.key']);
  } finally {
    await cleanup();
  }
});

write('takes the private key back when the public one cannot be written', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await writeFile(join(dir, 'k.pub'), 'old');
    await rejectsWithCode(() => writeKeyPair(join(dir, 'k')), 'KILN_ATTEST_KEY_EXISTS');
    assert.equal((await readdir(dir)).sort(), ['k.pub']);
  } finally {
    await cleanup();
  }
});

const read = suite('readSigner');

read('names a missing key file', async () => {
  const err = await rejectsWithCode<{ where?: { file: string } }>(() => readSigner('/nonexistent/k.key'), 'KILN_ATTEST_KEY_FILE');
  assert.is(err.where?.file, '/nonexistent/k.key');
});

gen.run();
signer.run();
trusted.run();
const gen1 = suite('keygen');

gen1('writes a pair (ed25519 by default) and returns the key id its signatures carry', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const key = await keygen({ out: join(dir, 'release') });
    assert.is(key.algorithm, 'ed25519');
    assert.is(key.keyid, (await readTrustedKey(join(dir, 'release.pub'))).keyid);
    assert.equal([key.privateKeyFile, key.publicKeyFile], [join(dir, 'release.key'), join(dir, 'release.pub')]);
    assert.is((await keygen({ out: join(dir, 'ec'), type: 'ecdsa-p256' })).algorithm, 'ecdsa-p256');
  } finally {
    await cleanup();
  }
});

gen1('refuses an algorithm it does not make, writing nothing', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await rejectsWithCode(() => keygen({ out: join(dir, 'k'), type: 'rsa' as KeyAlgorithm }), 'KILN_ATTEST_UNSUPPORTED_KEY');
    assert.equal(await readdir(dir), []);
  } finally {
    await cleanup();
  }
});

fp.run();
write.run();
read.run();
gen1.run();
