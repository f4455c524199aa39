/**
 * Property-based tests of the parsers an attacker reaches: recipes, policies, and the tar,
 * zip and ar readers of src/archive through each of their consumers (unpack, ingest,
 * normalize, kiln diff). Whatever the input, each one returns a result or throws a
 * KilnError: never another exception, never a hang, never a write outside the scratch folder
 * (the OS temp folder and the working folder point into it while these run). Inputs are
 * generated: arbitrary text and bytes, and valid documents and archives with bytes flipped,
 * lines replaced, tails cut off. A bounded number of cases per property (KILN_PROPERTY_RUNS,
 * default 200) keeps CI fast; a failure prints the seed and the shrunk counterexample.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify as toYaml } from 'yaml';
import { ingestTar } from '../../src/archive/ingest-tar.js';
import { normalizeTree } from '../../src/archive/normalize.js';
import { unpackArchive } from '../../src/archive/unpack.js';
import { diffPaths } from '../../src/diff/compare.js';
import { parseRecipe } from '../../src/recipe/index.js';
import { KilnError } from '../../src/util/errors.js';
import { parsePolicy } from '../../src/verify/index.js';
import { buildAr, buildDeb, buildTar, buildV7Tar, buildZip, gzip, paxRecords, TAR_END, tarMember } from '../helpers/archives.js';
import { createMemoryStore } from '../helpers/memory-store.js';

const RUNS = Number(process.env.KILN_PROPERTY_RUNS ?? 200);
/** A case that takes longer than this is a hang (the largest input here is a few KiB). */
const CASE_MS = 10_000;

// --- scratch: everything any parser writes must land under `scratch` --------------------

const parent = await mkdtemp(join(tmpdir(), 'kiln-hostile-'));
const scratch = join(parent, 'scratch');
await mkdir(scratch);
const savedTmp = process.env.TMPDIR;
const savedCwd = process.cwd();

/** Runs `fn`; a KilnError is an acceptable answer, any other throw or a hang fails the case. */
async function resultOrKilnError(what: string, fn: () => Promise<unknown> | unknown): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${CASE_MS} ms`)), CASE_MS);
  });
  try {
    await Promise.race([Promise.resolve().then(fn), hang]);
  } catch (err) {
    if (!(err instanceof KilnError)) throw new Error(`${what} threw ${(err as Error)?.name}: ${(err as Error)?.message}`, { cause: err });
    assert.ok(err.exitCode === 1 || err.exitCode === 2, 'a KilnError maps to exit 1 or 2');
    assert.type(err.code, 'string');
  } finally {
    clearTimeout(timer);
  }
}

// --- generators ----------------------------------------------------------------------------

const SHA256 = 'sha256-LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=';
const VALID_RECIPE = [
  'kiln: 1',
  'name: t',
  'sourceDateEpoch: 0',
  'inputs:',
  `  rootfs: { path: rootfs.tar, integrity: "${SHA256}" }`,
  `  src: { url: "https://example.org/s.tar.gz", integrity: "${SHA256}", unpack: true }`,
  `  deb: { deb: "busybox=1:1.0-1", arch: amd64, integrity: "${SHA256}" }`,
  'images:',
  '  base: { rootfs: rootfs }',
  'env: { CFLAGS: -O2 }',
  'steps:',
  '  build:',
  '    image: base',
  '    inputs: [src]',
  '    run: make',
  '  pack: { image: base, needs: [build], run: "tar -cf $KILN_OUT/x.tar ." }',
  'artifacts:',
  '  - { from: pack, path: x.tar }',
  '',
].join('\n');

const VALID_POLICY = ['kiln: 1', 'description: d', 'rules:', '  - name: builder', '    expr: predicate.buildDefinition.buildType != ""', 'rebuilds: { minimum: 1 }', ''].join('\n');

/** A valid text with some lines replaced by, inserted with or swapped for arbitrary ones. */
function mutatedLines(valid: string): fc.Arbitrary<string> {
  const lines = valid.split('\n');
  const edit = fc.record({
    at: fc.nat({ max: lines.length }),
    kind: fc.constantFrom('replace', 'insert', 'delete', 'duplicate'),
    text: fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('  - *a', '&a x: 1', '? [a]', '<<: *a', '!!binary x', '---', 'a: b: c', '  "1": 2', '  1: 3', '\t', '%YAML 1.1')),
  });
  return fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) => {
    const out = [...lines];
    for (const e of edits) {
      const at = Math.min(e.at, out.length);
      if (e.kind === 'replace') out[at] = e.text;
      else if (e.kind === 'insert') out.splice(at, 0, e.text);
      else if (e.kind === 'delete') out.splice(at, 1);
      else out.splice(at, 0, out[at] ?? '');
    }
    return out.join('\n');
  });
}

/** Documents: arbitrary text, mutated valid ones, and arbitrary data written as YAML. */
function documents(valid: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength: 400 }),
    mutatedLines(valid),
    fc.jsonValue({ maxDepth: 4 }).map((v) => toYaml(v)),
    fc.dictionary(fc.constantFrom('kiln', 'name', 'sourceDateEpoch', 'inputs', 'images', 'steps', 'artifacts', 'env', 'rules', 'rebuilds'), fc.jsonValue({ maxDepth: 3 })).map((v) => toYaml(v)),
  );
}

/** Bytes of a valid archive with bytes flipped, a tail cut off or appended. */
function mutatedBytes(seeds: Buffer[]): fc.Arbitrary<Buffer> {
  const flip = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) });
  return fc
    .record({
      seed: fc.nat({ max: seeds.length - 1 }),
      flips: fc.array(flip, { maxLength: 8 }),
      cut: fc.option(fc.nat()),
      tail: fc.uint8Array({ maxLength: 64 }),
    })
    .map(({ seed, flips, cut, tail }) => {
      const base = Buffer.from(seeds[seed]!);
      for (const f of flips) base[f.at % base.length] = f.byte;
      const kept = cut === null ? base : base.subarray(0, cut % (base.length + 1));
      return Buffer.concat([kept, Buffer.from(tail)]);
    });
}

/** Random bytes behind each magic the readers route by. */
const MAGICS = [Buffer.from([0x1f, 0x8b, 8]), Buffer.from('PK\x03\x04', 'latin1'), Buffer.from('!<arch>\n'), Buffer.alloc(0)];
const randomArchive = fc.record({ magic: fc.constantFrom(...MAGICS), body: fc.uint8Array({ maxLength: 2048 }) }).map(({ magic, body }) => Buffer.concat([magic, Buffer.from(body)]));

async function archiveSeeds(): Promise<Buffer[]> {
  const tar = await buildTar([
    { name: 'pkg/', type: 'directory' },
    { name: 'pkg/a.txt', body: 'alpha\n', mode: 0o644 },
    { name: 'pkg/' + 'long-name-'.repeat(12), body: 'pax path\n' },
    { name: 'pkg/link', type: 'symlink', linkname: 'a.txt' },
    { name: 'pkg/hard', type: 'link', linkname: 'pkg/a.txt' },
    { name: 'pkg/bin', body: Buffer.from([0, 1, 2, 255]), mode: 0o755 },
  ]);
  const zip = buildZip([{ name: 'a/', unixMode: 0o40755 }, { name: 'a/x.txt', body: 'x\n' }, { name: 'a/l', body: 'x.txt', unixMode: 0o120777 }, { name: 'b.bin', body: Buffer.alloc(40, 7) }]);
  const ar = buildAr([{ name: 'debian-binary', body: '2.0\n' }, { name: 'control.tar.gz', body: gzip(tar) }, { name: 'odd', body: 'x' }]);
  // GNU and pax metadata records and a pre-POSIX header, which only the hand-made layouts have.
  const records = Buffer.concat([
    tarMember({ name: 'g', typeflag: 'g' }, paxRecords({ comment: 'global', uname: 'u' })),
    tarMember({ name: 'L', typeflag: 'L', magic: 'gnu' }, 'pkg/a-long-name\0'),
    tarMember({ name: 'x', magic: 'gnu' }, 'gnu body'),
    tarMember({ name: 'x', typeflag: 'x' }, paxRecords({ path: 'pkg/pax', size: '3' })),
    tarMember({ name: 'x' }, 'pax'),
    TAR_END,
  ]);
  return [tar, gzip(tar), zip, ar, await buildDeb(gzip(tar)), gzip(zip), await buildTar([{ name: 'inner.tar.gz', body: gzip(tar) }, { name: 'lib.jar', body: zip }]), records, buildV7Tar()];
}

const archives = async () => {
  const seeds = await archiveSeeds();
  return fc.oneof({ weight: 3, arbitrary: mutatedBytes(seeds) }, { weight: 1, arbitrary: randomArchive });
};

// --- properties ----------------------------------------------------------------------------

const properties = suite('hostile input: a result or a KilnError, never a crash, hang or stray write');

properties.before(() => {
  process.env.TMPDIR = scratch;
  process.chdir(scratch);
});

properties.after(async () => {
  process.chdir(savedCwd);
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  await rm(parent, { recursive: true, force: true });
});

properties('parseRecipe', async () => {
  await fc.assert(
    fc.asyncProperty(documents(VALID_RECIPE), fc.boolean(), async (text, allowUnpinned) => {
      await resultOrKilnError('parseRecipe', () => parseRecipe(text, join(scratch, 'kiln.yaml'), { allowUnpinned }));
    }),
    { numRuns: RUNS },
  );
});

properties('parsePolicy', async () => {
  await fc.assert(
    fc.asyncProperty(documents(VALID_POLICY), async (text) => {
      await resultOrKilnError('parsePolicy', () => parsePolicy(text, join(scratch, 'p.yaml')));
    }),
    { numRuns: RUNS },
  );
});

properties('src/archive: unpackArchive (tar, tar.gz, zip, deb) and ingestTar', async () => {
  const store = createMemoryStore();
  await fc.assert(
    fc.asyncProperty(await archives(), fc.constantFrom<'contained' | 'any'>('contained', 'any'), async (bytes, links) => {
      const { digest } = await store.putBytes(bytes);
      await resultOrKilnError('unpackArchive', () => unpackArchive(store, digest, { label: 'fuzz', links }));
      await resultOrKilnError('ingestTar', () => ingestTar(store, Readable.from([bytes]), { label: 'fuzz', links }));
    }),
    { numRuns: RUNS },
  );
});

properties('src/archive: normalizeTree over output archives (tar, gzip)', async () => {
  const store = createMemoryStore();
  await fc.assert(
    fc.asyncProperty(await archives(), async (bytes) => {
      const { digest, size } = await store.putBytes(bytes);
      const manifest = { kiln: 'tree/v1' as const, entries: [{ path: 'out.bin', type: 'file' as const, mode: 0o644 as const, digest, size }] };
      await resultOrKilnError('normalizeTree', () => normalizeTree(store, manifest, { sourceDateEpoch: 1_700_000_000, maxDecompressedBytes: 1 << 20 }));
    }),
    { numRuns: RUNS },
  );
});

properties('src/diff: diffPaths over two hostile archives (tar, gzip, zip, ar), spills removed', async () => {
  const spills = join(scratch, 'spill');
  await mkdir(spills, { recursive: true });
  const arbitrary = await archives();
  let n = 0;
  await fc.assert(
    fc.asyncProperty(arbitrary, arbitrary, fc.constantFrom(0, 4096, 1 << 20), async (a, b, maxSpillBytes) => {
      const pa = join(scratch, `a${n}`);
      const pb = join(scratch, `b${n++}`);
      await writeFile(pa, a);
      await writeFile(pb, b);
      try {
        await resultOrKilnError('diffPaths', () => diffPaths(pa, pb, { tempDir: spills, maxSpillBytes }));
        assert.equal(await readdir(spills), [], 'no spill left behind');
      } finally {
        await rm(pa, { force: true });
        await rm(pb, { force: true });
      }
    }),
    { numRuns: RUNS },
  );
});

properties('nothing was written beside the scratch folder, and the scratch folder holds only what the tests put there', async () => {
  assert.equal(await readdir(parent), ['scratch']);
  const left = (await readdir(scratch)).filter((n) => n !== 'spill' && n !== 'kiln.yaml');
  assert.equal(left, [], `left in scratch: ${left.join(', ')}`);
});

properties.run();
