import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readSigner, readTrustedKey } from '../../../src/attest/index.js';
import type { CliIO } from '../../../src/cli/io.js';
import { runCommand } from '../../../src/cli/main.js';
import { makeTempDir, rejectsWithCode } from '../../helpers/index.js';

const runKeygenCommand = (args: string[], cli: CliIO) => runCommand(['keygen', ...args], cli);

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: { write: (t: string) => void out.push(t) }, stderr: { write: (t: string) => void err.push(t) } } };
}

const keygen = suite('kiln keygen');

keygen('writes an ed25519 pair by default, the private key 0600, and prints the key id', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const cap = io();
    assert.is(await runKeygenCommand(['--out', join(dir, 'release')], cap.io), 0);
    assert.equal((await readdir(dir)).sort(), ['release.key', 'release.pub']);
    assert.is((await stat(join(dir, 'release.key'))).mode & 0o777, 0o600);
    const signer = await readSigner(join(dir, 'release.key'));
    assert.is(signer.algorithm, 'ed25519');
    assert.ok(cap.out.join('').includes(signer.keyid));
  } finally {
    await cleanup();
  }
});

keygen('--type ecdsa-p256 --json reports algorithm, keyid and files', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const cap = io();
    assert.is(await runKeygenCommand(['--type', 'ecdsa-p256', '--out', join(dir, 'k'), '--json'], cap.io), 0);
    const report = JSON.parse(cap.out.join(''));
    assert.is(report.algorithm, 'ecdsa-p256');
    assert.is(report.keyid, (await readTrustedKey(join(dir, 'k.pub'))).keyid);
    assert.is(report.privateKeyFile, join(dir, 'k.key'));
  } finally {
    await cleanup();
  }
});

keygen('refuses a missing --out, an unknown --type and unknown flags as usage errors', async () => {
  await rejectsWithCode(() => runKeygenCommand([], io().io), 'KILN_USAGE');
  await rejectsWithCode(() => runKeygenCommand(['--out', '/tmp/x', '--type', 'rsa'], io().io), 'KILN_USAGE');
  await rejectsWithCode(() => runKeygenCommand(['--out', '/tmp/x', '--bits', '4096'], io().io), 'KILN_USAGE');
});

keygen('refuses to overwrite an existing pair', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await runKeygenCommand(['--out', join(dir, 'k')], io().io);
    await rejectsWithCode(() => runKeygenCommand(['--out', join(dir, 'k')], io().io), 'KILN_ATTEST_KEY_EXISTS');
  } finally {
    await cleanup();
  }
});

keygen.run();
