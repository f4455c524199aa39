// kiln verify at scale (issue: kiln verify, "Measure").
//   node dist/bench/verify-large.js [size-in-MiB, default 1024]
// 1. An artifact of 1 GiB: `kiln verify` (sha256 + sha512 in one read, signature, checks)
//    against `openssl dgst -sha256` + `openssl dgst -sha512` of the same file (target ≤ 1.2×
//    their sum), and the verifying process's peak RSS (target < 150 MB, flat in the size).
// 2. Provenance with 1,000 resolved dependencies against one with a single dependency, same
//    small artifact (target: under a second more).
// Every kiln run is a fresh process (bench/verify-child.ts); medians of 3 (5 for part 2).
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILD_TYPE_KILN_RECIPE_V1, createSigner, envelopeToJSON, generateKeyPair, makeStatement, PAYLOAD_TYPE_INTOTO, PREDICATE_SLSA_PROVENANCE_V1, signEnvelope } from '../src/attest/index.js';
import { makeTempDir, repoRoot } from '../test/helpers/index.js';
import { fmt, median, timeCommand } from './util.js';

const MiB = 1 << 20;
const sizeMiB = Number(process.argv[2] ?? 1024);
const child = join(repoRoot(), 'dist', 'bench', 'verify-child.js');
const { privateKeyPem, publicKeyPem } = generateKeyPair();
const signer = createSigner(privateKeyPem, 'bench');

function provenance(name: string, sha256: string, sha512: string, dependencies: number): string {
  const statement = makeStatement([{ name, digest: { sha256, sha512 } }], PREDICATE_SLSA_PROVENANCE_V1, {
    buildDefinition: {
      buildType: BUILD_TYPE_KILN_RECIPE_V1,
      externalParameters: { recipe: { path: 'kiln.yaml', digest: { sha256: '0'.repeat(64) }, content: 'kiln: 1\n' } },
      resolvedDependencies: Array.from({ length: dependencies }, (_, i) => ({
        uri: `https://example.org/inputs/dep-${i}.tar.gz`,
        name: `input:dep-${i}`,
        digest: { sha256: createHash('sha256').update(`dep ${i}`).digest('hex'), sha512: createHash('sha512').update(`dep ${i}`).digest('hex') },
      })),
    },
    runDetails: { builder: { id: 'https://kiln.example.org/builders/local/v1' }, metadata: { invocationId: 'bench' } },
  });
  return envelopeToJSON(signEnvelope(Buffer.from(JSON.stringify(statement)), PAYLOAD_TYPE_INTOTO, [signer])) + '\n';
}

function runKiln(args: string[]): { ms: number; wallMs: number; rssMiB: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [child, ...args], { encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`verify failed: ${r.stderr}`);
  const result = JSON.parse(r.stdout) as { ms: number; code: number; rssMiB: number };
  if (result.code !== 0) throw new Error(`verify did not pass (exit ${result.code}): ${r.stderr}`);
  return { ms: result.ms, wallMs, rssMiB: result.rssMiB };
}

const { dir, cleanup } = await makeTempDir('kiln-bench-verify-');
try {
  const key = join(dir, 'bench.pub');
  await writeFile(key, publicKeyPem);

  // 1. A large artifact.
  const file = join(dir, 'big.bin');
  const h256 = createHash('sha256');
  const h512 = createHash('sha512');
  const ws = createWriteStream(file);
  const block = randomBytes(4 * MiB);
  for (let i = 0; i < sizeMiB / 4; i++) {
    block.writeUInt32LE(i, 0); // vary every block
    h256.update(block);
    h512.update(block);
    if (!ws.write(block)) await new Promise<void>((r) => ws.once('drain', () => r()));
  }
  await new Promise<void>((r) => ws.end(r));
  await writeFile(join(dir, 'big.intoto.jsonl'), provenance('big.bin', h256.digest('hex'), h512.digest('hex'), 1));
  const verifyBig = ['big.bin', '--provenance', 'big.intoto.jsonl', '--key', key].map((a, i) => (i === 0 || i === 2 ? join(dir, a) : a));

  runKiln(verifyBig); // warm the page cache like openssl's first run does
  const sha256 = median([0, 1, 2].map(() => timeCommand('openssl', ['dgst', '-sha256', file])));
  const sha512 = median([0, 1, 2].map(() => timeCommand('openssl', ['dgst', '-sha512', file])));
  const big = [0, 1, 2].map(() => runKiln(verifyBig));
  const bigMs = median(big.map((r) => r.ms));
  const bigWall = median(big.map((r) => r.wallMs));
  const mbps = (ms: number) => `${((sizeMiB * MiB) / (ms / 1000) / 1e6).toFixed(0)} MB/s`;
  console.log(`${sizeMiB} MiB artifact, median of 3:`);
  console.log(`  openssl dgst -sha256          ${fmt(sha256)}  ${mbps(sha256)}`);
  console.log(`  openssl dgst -sha512          ${fmt(sha512)}  ${mbps(sha512)}`);
  console.log(`  sum                           ${fmt(sha256 + sha512)}`);
  console.log(`  kiln verify (command)         ${fmt(bigMs)}  ${(bigMs / (sha256 + sha512)).toFixed(2)}× the sum (target ≤ 1.2×)`);
  console.log(`  kiln verify (whole process)   ${fmt(bigWall)}  ${(bigWall / (sha256 + sha512)).toFixed(2)}× the sum`);
  console.log(`  peak RSS                      ${Math.max(...big.map((r) => r.rssMiB)).toFixed(0)} MiB (target < 150 MB)`);

  // 2. Many dependencies.
  const small = join(dir, 'small.bin');
  const content = randomBytes(64 * 1024);
  await writeFile(small, content);
  const d256 = createHash('sha256').update(content).digest('hex');
  const d512 = createHash('sha512').update(content).digest('hex');
  await writeFile(join(dir, 'one.intoto.jsonl'), provenance('small.bin', d256, d512, 1));
  await writeFile(join(dir, 'many.intoto.jsonl'), provenance('small.bin', d256, d512, 1000));
  const run = (prov: string) => [0, 1, 2, 3, 4].map(() => runKiln([small, '--provenance', join(dir, prov), '--key', key]));
  const one = run('one.intoto.jsonl');
  const many = run('many.intoto.jsonl');
  const oneWall = median(one.map((r) => r.wallMs));
  const manyWall = median(many.map((r) => r.wallMs));
  console.log(`provenance with 1,000 resolved dependencies vs 1, median of 5 (whole process):`);
  console.log(`  1 dependency                  ${fmt(oneWall)}  (command ${fmt(median(one.map((r) => r.ms)))})`);
  console.log(`  1,000 dependencies            ${fmt(manyWall)}  (command ${fmt(median(many.map((r) => r.ms)))})`);
  console.log(`  difference                    ${fmt(manyWall - oneWall)} (target < 1000 ms)`);
  spawnSync('true');
} finally {
  await cleanup();
}
