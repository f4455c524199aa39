import type { KeyAlgorithm } from '../../attest/index.js';
import { defineCommand } from '../command.js';
import { JSON_OPTIONS } from '../options.js';

export const keygen = defineCommand({
  name: 'keygen',
  summary: 'make a signing key pair and print its key id',
  options: {
    type: { type: 'string', short: 't', choices: ['ed25519', 'ecdsa-p256'], description: 'the key algorithm (default ed25519)' },
    out: { type: 'string', short: 'o', required: true, value: 'PREFIX', description: 'write PREFIX.key and PREFIX.pub; an existing file is never overwritten' },
    ...JSON_OPTIONS,
  },
  notes: ['Writes PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub (SPKI PEM). The key id is the OpenSSH SHA256: fingerprint, as cosign and securesystemslib expect it.'],
  exit: '0 written · 2 bad usage, or a key file already exists',
  async run({ values }, io) {
    const { keygen } = await import('../../attest/index.js');
    const key = await keygen({ out: values.out, ...(values.type !== undefined && { type: values.type as KeyAlgorithm }) });
    if (values.json) {
      io.stdout.write(JSON.stringify({ algorithm: key.algorithm, keyid: key.keyid, privateKeyFile: key.privateKeyFile, publicKeyFile: key.publicKeyFile }, null, 2) + '\n');
    } else {
      io.stdout.write(`wrote ${key.privateKeyFile} (private, mode 0600) and ${key.publicKeyFile}\n  ${key.algorithm} ${key.keyid}\n`);
    }
    return 0;
  },
});
