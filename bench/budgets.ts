// The budgets of issue 10 against the code before them, side by side in one run.
//   node dist/bench/budgets.js --base DIR [--diff-mib 50] [--verify-mib 1024] [--only normal|fixes]
// DIR is a built checkout of the base commit, e.g.
//   git worktree add --detach /tmp/base main && (cd /tmp/base && npm ci && npm run build)
// Every measurement is a fresh process, the two trees taking turns (A B A B…) so that the
// machine's drift hits both alike; medians of BENCH_RUNS (default 5).
// 1. The normal path must cost the same: `kiln diff` of two 50 MiB tarballs (plain, gzip, and
//    gzip with the members in another order, which spills), normalization and unpacking of
//    the tarball (store to store), `kiln verify` of a 1 GiB artifact.
// 2. What the budgets fix: parsing a recipe of 40,000 keys, a step log of 16 MiB without a
//    newline, `kiln inspect` of an unsigned 1 MB envelope with a large embedded recipe
//    (a run over BENCH_TIMEOUT_S seconds, default 180, is cut and shown as such).
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BUILD_TYPE_KILN_RECIPE_V1, createSigner, envelopeToJSON, generateKeyPair, makeStatement, PAYLOAD_TYPE_INTOTO, PREDICATE_SLSA_PROVENANCE_V1, signEnvelope } from '../src/attest/index.js';
import { makeTempDir, repoRoot } from '../test/helpers/index.js';
import { median } from './util.js';

const MiB = 1 << 20;
const args = process.argv.slice(2);
const option = (name: string, fallback?: string) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};
const base = option('--base');
if (base === undefined) throw new Error('usage: node dist/bench/budgets.js --base DIR [--diff-mib 50] [--verify-mib 1024] [--only normal|fixes]');
const trees = [
  ['base', resolve(base)],
  ['this', repoRoot()],
] as const;
const only = option('--only');
const diffMiB = Number(option('--diff-mib', '50'));
const verifyMiB = Number(option('--verify-mib', '1024'));
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S ?? 180) * 1000;
const child = join(repoRoot(), 'dist', 'bench', 'budgets-child.js');

interface Run {
  /** Wall time of the whole process. */
  wallMs: number;
  /** The child's own measure of the work (without node's start), when it reports one. */
  ms?: number;
  timedOut: boolean;
}

function once(cmd: string, cmdArgs: string[], okCodes = [0]): Run {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, cmdArgs, { encoding: 'utf8', timeout: TIMEOUT_MS, maxBuffer: 64 * MiB });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.signal === 'SIGTERM') return { wallMs, timedOut: true };
  if (!okCodes.includes(r.status ?? -1)) throw new Error(`${cmd} ${cmdArgs.join(' ')} failed (${r.status}): ${r.stderr}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  const ms = last.startsWith('{') ? (JSON.parse(last) as { ms?: number }).ms : undefined;
  return { wallMs, ...(ms !== undefined && { ms }), timedOut: false };
}

/** Runs each tree's command in turns; medians per tree. `runs` of 1 for the slow base cases. */
function sideBySide(label: string, command: (root: string) => [string, string[]], options: { runs?: number; okCodes?: number[]; field?: 'ms' | 'wallMs' } = {}): void {
  const runs = options.runs ?? RUNS;
  const field = options.field ?? 'wallMs';
  const results = new Map<string, Run[]>(trees.map(([name]) => [name, []]));
  for (let i = 0; i < runs; i++) {
    for (const [name, root] of i % 2 === 0 ? trees : [...trees].reverse()) {
      const list = results.get(name)!;
      if (list.some((r) => r.timedOut)) continue;
      const [cmd, cmdArgs] = command(root);
      list.push(once(cmd, cmdArgs, options.okCodes));
    }
  }
  const show = (name: string) => {
    const list = results.get(name)!;
    if (list.some((r) => r.timedOut)) return { text: `> ${(TIMEOUT_MS / 1000).toFixed(0)} s (cut)`, value: Number.POSITIVE_INFINITY };
    const value = median(list.map((r) => r[field] ?? r.wallMs));
    return { text: `${value.toFixed(0)} ms`, value };
  };
  const b = show('base');
  const t = show('this');
  const ratio = Number.isFinite(b.value) ? `${(t.value / b.value).toFixed(2)}×` : 'n/a';
  console.log(`  ${label.padEnd(46)} base ${b.text.padStart(14)}   this ${t.text.padStart(10)}   this/base ${ratio}`);
}

/** Two ~`mib` MiB trees (3/4 random binaries, 1/4 text) differing in one mtime and one line; tarred by GNU tar. */
async function makePair(dir: string, mib: number): Promise<{ a: string; b: string; bReordered: string }> {
  const treeA = join(dir, 'tree-a');
  const treeB = join(dir, 'tree-b');
  const blobSize = 128 * 1024;
  const blobs = Math.max(8, Math.round((mib * MiB * 0.75) / blobSize));
  const texts = Math.max(43, Math.round((mib * MiB * 0.25) / (64 * 1024)));
  for (const tree of [treeA, treeB]) {
    await mkdir(join(tree, 'bin'), { recursive: true });
    await mkdir(join(tree, 'doc'), { recursive: true });
  }
  for (let i = 0; i < blobs; i++) {
    const name = `bin/blob-${String(i).padStart(4, '0')}.bin`;
    await writeFile(join(treeA, name), randomBytes(blobSize));
    await copyFile(join(treeA, name), join(treeB, name));
  }
  for (let i = 0; i < texts; i++) {
    const name = `doc/text-${String(i).padStart(4, '0')}.txt`;
    const lines = Array.from({ length: 880 }, (_, j) => `${String(j).padStart(5, '0')} text file ${i}, a line of ordinary words for the diff to read\n`);
    await writeFile(join(treeA, name), lines.join(''));
    if (i === 42) lines[440] = lines[440]!.replace('ordinary', 'CHANGED!');
    await writeFile(join(treeB, name), lines.join(''));
  }
  for (const tree of [treeA, treeB]) sh(`cd '${tree}' && find . -exec touch -h -d @1700000000 {} +`);
  await utimes(join(treeB, 'bin/blob-0007.bin'), 1_700_003_600, 1_700_003_600);
  const a = join(dir, 'a.tar');
  const b = join(dir, 'b.tar');
  const bReordered = join(dir, 'b-reordered.tar');
  sh(`tar --sort=name --owner=0 --group=0 --numeric-owner --format=gnu -C '${treeA}' -cf '${a}' .`);
  sh(`tar --sort=name --owner=0 --group=0 --numeric-owner --format=gnu -C '${treeB}' -cf '${b}' .`);
  // The same members, text files first: the diff must index (spill) the rest after the first mismatch.
  sh(`cd '${treeB}' && tar --owner=0 --group=0 --numeric-owner --format=gnu --no-recursion -cf '${bReordered}' . ./doc $(ls -d ./doc/* | sort) ./bin $(ls -d ./bin/* | sort)`);
  await rm(treeA, { recursive: true });
  await rm(treeB, { recursive: true });
  return { a, b, bReordered };
}

function sh(script: string): void {
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script}: ${r.stderr}`);
}

function gz(file: string): string {
  sh(`gzip -n -1 -c '${file}' > '${file}.gz'`);
  return `${file}.gz`;
}

async function largeArtifact(dir: string, mib: number): Promise<string[]> {
  const { privateKeyPem, publicKeyPem } = generateKeyPair();
  const file = join(dir, 'big.bin');
  const h256 = createHash('sha256');
  const h512 = createHash('sha512');
  const ws = createWriteStream(file);
  const block = randomBytes(4 * MiB);
  for (let i = 0; i < mib / 4; i++) {
    block.writeUInt32LE(i, 0);
    h256.update(block);
    h512.update(block);
    if (!ws.write(block)) await new Promise<void>((r) => ws.once('drain', () => r()));
  }
  await new Promise<void>((r) => ws.end(r));
  const statement = makeStatement([{ name: 'big.bin', digest: { sha256: h256.digest('hex'), sha512: h512.digest('hex') } }], PREDICATE_SLSA_PROVENANCE_V1, {
    buildDefinition: {
      buildType: BUILD_TYPE_KILN_RECIPE_V1,
      externalParameters: { recipe: { path: 'kiln.yaml', digest: { sha256: '0'.repeat(64) }, content: 'kiln: 1\n' } },
      resolvedDependencies: [{ uri: 'https://example.org/dep.tar.gz', name: 'input:dep', digest: { sha256: '1'.repeat(64) } }],
    },
    runDetails: { builder: { id: 'https://kiln.example.org/builders/local/v1' }, metadata: { invocationId: 'bench' } },
  });
  const envelope = signEnvelope(Buffer.from(JSON.stringify(statement)), PAYLOAD_TYPE_INTOTO, [createSigner(privateKeyPem, 'bench')]);
  await writeFile(join(dir, 'big.intoto.jsonl'), envelopeToJSON(envelope) + '\n');
  await writeFile(join(dir, 'bench.pub'), publicKeyPem);
  return [file, '--provenance', join(dir, 'big.intoto.jsonl'), '--key', join(dir, 'bench.pub')];
}

function recipeWithKeys(keys: number): string {
  const lines = ['kiln: 1', 'name: wide', 'sourceDateEpoch: 0', `images: { b: { oci: "r.example/b@sha256:${'0'.repeat(64)}" } }`, 'env:'];
  for (let i = 0; i < keys; i++) lines.push(`  K${i}: v`);
  lines.push('steps: { s: { image: b, run: "true" } }', 'artifacts: [{ from: s, path: x }]', '');
  return lines.join('\n');
}

function unsignedEnvelopeWithRecipe(bytes: number): string {
  const lines = ['kiln: 1', 'name: big', 'version: "1"', 'env:'];
  for (let i = 0, length = 0; length < bytes; i++) {
    const line = `  K${i}: v`;
    lines.push(line);
    length += line.length + 1;
  }
  const statement = makeStatement([{ name: 'a', digest: { sha256: '0'.repeat(64) } }], PREDICATE_SLSA_PROVENANCE_V1, {
    buildDefinition: { buildType: BUILD_TYPE_KILN_RECIPE_V1, externalParameters: { recipe: { path: 'kiln.yaml', digest: { sha256: '0'.repeat(64) }, content: lines.join('\n') } } },
    runDetails: { builder: { id: 'https://example.org/b' } },
  });
  return JSON.stringify({ payloadType: PAYLOAD_TYPE_INTOTO, payload: Buffer.from(JSON.stringify(statement)).toString('base64'), signatures: [{ keyid: '', sig: 'AA==' }] });
}

const { dir, cleanup } = await makeTempDir('kiln-bench-budgets-');
try {
  console.log(`base: ${trees[0][1]}\nthis: ${trees[1][1]}\nmedians of ${RUNS}, fresh processes taking turns\n`);
  if (only !== 'fixes') await normalPath();
  if (only !== 'normal') await fixes();
} finally {
  await cleanup();
}

async function normalPath(): Promise<void> {
  console.log('the normal path (budgets in place, none reached):');
  const pair = await makePair(dir, diffMiB);
  const diffCli = (root: string, a: string, b: string): [string, string[]] => [process.execPath, [join(root, 'dist', 'bench', 'diff-cli.js'), a, b]];
  sideBySide(`kiln diff, ${diffMiB} MiB tar`, (root) => diffCli(root, pair.a, pair.b), { okCodes: [1] });
  const [ga, gb, gbr] = [gz(pair.a), gz(pair.b), gz(pair.bReordered)];
  sideBySide(`kiln diff, ${diffMiB} MiB tar.gz`, (root) => diffCli(root, ga, gb), { okCodes: [1] });
  sideBySide(`kiln diff, ${diffMiB} MiB tar.gz, reordered (spills)`, (root) => diffCli(root, ga, gbr), { okCodes: [1] });
  // The archive readers that ingest and normalization share with kiln diff.
  const task = (name: string, file: string) => (root: string): [string, string[]] => [process.execPath, [child, root, name, file]];
  sideBySide(`normalize a ${diffMiB} MiB tar (store to store)`, task('normalize', pair.a), { field: 'ms' });
  sideBySide(`normalize a ${diffMiB} MiB tar.gz`, task('normalize', ga), { field: 'ms' });
  sideBySide(`unpack (ingest) a ${diffMiB} MiB tar`, task('unpack', pair.a), { field: 'ms' });
  sideBySide(`unpack (ingest) a ${diffMiB} MiB tar.gz`, task('unpack', ga), { field: 'ms' });
  await rm(pair.a);
  await rm(pair.b);
  await rm(pair.bReordered);
  const verify = await largeArtifact(dir, verifyMiB);
  sideBySide(`kiln verify, ${verifyMiB} MiB artifact (command)`, (root) => [process.execPath, [join(root, 'dist', 'bench', 'verify-child.js'), ...verify]], { field: 'ms' });
  await rm(verify[0]!);
}

async function fixes(): Promise<void> {
  console.log('\nwhat the budgets fix:');
  const recipe = join(dir, 'wide.yaml');
  await writeFile(recipe, recipeWithKeys(40_000));
  sideBySide('parse a recipe of 40,000 keys (470 KB)', (root) => [process.execPath, [child, root, 'yaml', recipe]], { runs: 3, field: 'ms' });
  for (const mib of [1, 4, 16]) {
    sideBySide(`a step log of ${mib} MiB without a newline`, (root) => [process.execPath, [child, root, 'log', String(mib)]], { runs: 3, field: 'ms' });
  }
  const envelope = join(dir, 'big.json');
  await writeFile(envelope, unsignedEnvelopeWithRecipe(750_000));
  sideBySide('kiln inspect, unsigned 1 MB envelope, large recipe', (root) => [process.execPath, [child, root, 'inspect', envelope]], { runs: 3, field: 'ms' });
}
