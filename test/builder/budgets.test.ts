import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ArchiveError } from '../../src/archive/errors.js';
import { build, type BuildEvent } from '../../src/builder/index.js';
import { LOG_LINE_MAX } from '../../src/builder/log.js';
import { loadSandboxProfile, parseSandboxProfile } from '../../src/sandbox/profile.js';
import { createStore } from '../../src/store/index.js';
import { buildTar } from '../helpers/archives.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { sri, writeRecipe } from '../helpers/recipes.js';
import { listBlobs } from '../store/support.js';

const MiB = 1024 * 1024;

/** The shipped sandbox profile with some settings changed (a new digest, as any change gives). */
async function profileWith(changes: Record<string, unknown>) {
  const shipped = await loadSandboxProfile();
  return parseSandboxProfile(JSON.stringify({ ...shipped.profile, limits: { ...shipped.profile.limits, ...changes } }), 'test-profile.json');
}

/** Runs `fn` with the OS temp folder pointed at `dir`. */
async function withTempFolder<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

const normalize = suite('build: output normalization has a decompression budget');

normalize('a step writing a small .tar.gz of zeros stops the build past limits.decompressedBytes, naming budget, step and file; the temp folder is left empty', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    // Built here, never committed: 16 MiB of zeros in a tar, ~16 KiB gzipped.
    const bomb = gzipSync(await buildTar([{ name: 'zeros', body: Buffer.alloc(16 * MiB) }]), { level: 9 });
    await writeFile(join(dir, 'bomb.tar.gz'), bomb);
    const recipe = await writeRecipe(join(dir, 'recipe'), `
inputs:
  bomb: { path: ../bomb.tar.gz, integrity: "${sri(bomb)}" }
steps:
  pack: { image: base, inputs: [bomb], run: "mkdir $KILN_OUT/dist && cp /kiln/inputs/bomb $KILN_OUT/dist/bomb.tar.gz" }
artifacts: [{ from: pack, path: dist/bomb.tar.gz }]
`);
    const temp = join(dir, 'tmp');
    await mkdir(temp);
    const storeRoot = join(dir, 'store');
    const events: BuildEvent[] = [];
    const err = await withTempFolder(temp, async () =>
      rejectsWithCode<ArchiveError>(
        async () =>
          build({ recipe, out: join(dir, 'out'), store: await createStore({ root: storeRoot }), profile: await profileWith({ decompressedBytes: MiB }), attest: false, reporter: (e) => events.push(e) }),
        'KILN_ARCHIVE_TOO_LARGE',
      ),
    );
    assert.instance(err, ArchiveError);
    assert.equal(err.budget, { name: 'limits.decompressedBytes', limit: MiB });
    assert.is(err.label, 'pack');
    assert.is(err.entry, 'dist/bomb.tar.gz');
    assert.ok(events.some((e) => e.type === 'step-failed' && e.step === 'pack'), 'the step is reported failed');
    assert.equal(await readdir(temp), [], 'nothing left in the temp folder');
    // Nothing the size of the expanded archive reached the store either.
    for (const blob of await listBlobs(storeRoot)) assert.ok((await stat(join(storeRoot, 'v1', 'cas', blob))).size < 4 * MiB, `${blob} is small`);
  } finally {
    await cleanup();
  }
});

const logs = suite('build: step logs are split in linear time and capped');

logs('a step printing 16 MiB without a newline: display lines of at most LOG_LINE_MAX, the stored log capped with head, tail and a note', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const recipe = await writeRecipe(dir, `
steps:
  chatty:
    image: base
    run: |
      echo BEGIN
      yes xxxxxxxxxxxxxxx | tr -d '\\n' | head -c 16777216
      echo
      echo END
      echo ok > $KILN_OUT/done
artifacts: [{ from: chatty, path: done }]
`);
    const store = await createStore({ root: join(dir, 'store') });
    const events: BuildEvent[] = [];
    const summary = await build({ recipe, out: join(dir, 'out'), store, attest: false, maxLogBytes: MiB, reporter: (e) => events.push(e) });
    const shown = events.flatMap((e) => (e.type === 'log' && e.step === 'chatty' ? [e.line] : []));
    assert.ok(shown.every((l) => l.length <= LOG_LINE_MAX), 'no display line longer than LOG_LINE_MAX');
    assert.is(shown.filter((l) => /^x+$/.test(l)).reduce((n, l) => n + l.length, 0), 16 * MiB, 'every byte shown once');
    assert.equal([shown[0], shown[shown.length - 1]], ['BEGIN', 'END']);
    const log = (await store.readBlob(summary.steps.chatty!.log)).toString();
    assert.ok(log.startsWith('BEGIN\nxxx') && log.endsWith('xxx\nEND\n'), 'head and tail kept');
    const note = /\[kiln: (\d+) bytes dropped here: the stored log is capped at 1048576 bytes \(maxLogBytes\)/.exec(log);
    assert.ok(note, 'the log says the middle was dropped');
    assert.is(Number(note[1]), 6 + 16 * MiB + 1 + 4 - MiB);
  } finally {
    await cleanup();
  }
});

normalize.run();
logs.run();
