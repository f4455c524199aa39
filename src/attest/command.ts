import { parseArgs } from 'node:util';
import { UsageError } from '../util/errors.js';
import { createSigner, DEFAULT_KEY_ALGORITHM, KEY_ALGORITHMS, writeKeyPair } from './keys.js';
import type { KeyAlgorithm } from './types.js';
import { readFile } from 'node:fs/promises';

export const KEYGEN_USAGE = 'kiln keygen [--type ed25519|ecdsa-p256] --out <prefix> [--json]   writes <prefix>.key (0600) and <prefix>.pub';

interface CommandIO {
  stdout: { write(text: string): void };
  stderr: { write(text: string): void };
}

/** `kiln keygen`: a new key pair; prints the files and the key id (OpenSSH fingerprint). */
export async function runKeygenCommand(args: string[], io: CommandIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { type: { type: 'string', short: 't' }, out: { type: 'string', short: 'o' }, json: { type: 'boolean' } },
      allowPositionals: false,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message, { hint: KEYGEN_USAGE });
  }
  const { values } = parsed;
  const algorithm = (values.type ?? DEFAULT_KEY_ALGORITHM) as KeyAlgorithm;
  if (!KEY_ALGORITHMS.includes(algorithm)) throw new UsageError(`--type must be ${KEY_ALGORITHMS.join(' or ')}, got "${values.type}"`);
  if (values.out === undefined || values.out === '') throw new UsageError('kiln keygen needs --out <prefix>', { hint: KEYGEN_USAGE });
  const files = await writeKeyPair(values.out, algorithm);
  const { keyid } = createSigner(await readFile(files.privateKeyFile, 'utf8'), files.privateKeyFile);
  if (values.json) {
    io.stdout.write(JSON.stringify({ algorithm, keyid, ...files }, null, 2) + '\n');
  } else {
    io.stdout.write(`wrote ${files.privateKeyFile} (private, mode 0600) and ${files.publicKeyFile}\n  ${algorithm} ${keyid}\n`);
  }
  return 0;
}
