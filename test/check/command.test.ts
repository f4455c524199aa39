import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CheckResult } from '../../src/check/index.js';
import { formatCheck } from '../../src/cli/commands/check.js';
import type { CliIO } from '../../src/cli/io.js';
import { runCommand } from '../../src/cli/main.js';
import { makeTempDir } from '../helpers/index.js';
import { writeRecipe } from '../helpers/recipes.js';

const result = (mode: CheckResult['mode']): CheckResult => ({
  kiln: 'check/v1', recipe: { name: 't', file: '/t/kiln.yaml', digest: `sha256:${'0'.repeat(64)}` }, mode, verdict: 'reproducible',
  controls: { identical: true, artifacts: [], differing: [] }, experiment: { variations: ['time'], verdict: 'same', differing: [] },
  variations: [{
    name: 'time', description: 'a different wall clock', supported: true, verdict: 'same', differing: [],
    method: 'later-run', methodDetail: 'image base: real clock (the image has no libfaketime)',
  }],
  culprits: [], unexplained: [], variationSet: { file: 'v.yaml', digest: `sha256:${'1'.repeat(64)}` }, sandboxProfile: `sha256:${'2'.repeat(64)}`,
  builds: 3, timings: { startedOn: '', finishedOn: '', durationMs: 1000 },
});

const format = suite('formatCheck');

format('says which mode was judged and how each variation was applied', () => {
  const raw = formatCheck(result('raw'), [], true);
  assert.match(raw, /mode: raw/);
  assert.match(raw, /time +same \[later-run\]/);
  assert.match(raw, /real clock \(the image has no libfaketime\)/);
  assert.match(formatCheck(result('normalized'), [], true), /mode: normalized/);
});

const command = suite('kiln check command');

command('--raw judges the outputs as the step wrote them, and says so in --json', async () => {
  const { dir, cleanup } = await makeTempDir();
  const prevStore = process.env.KILN_STORE;
  process.env.KILN_STORE = join(dir, 'store');
  try {
    // A tar in the step's own order (b before a) and with the step's uid: kiln's normalization
    // would sort it and zero the owner; the mtimes are pinned, so nothing depends on the time.
    await writeRecipe(join(dir, 'recipe'), 'steps:\n  t:\n    image: base\n    run: echo a > a && echo b > b && touch -d @1700000000 a b && tar -cf $KILN_OUT/a.tar b a\nartifacts:\n  - { from: t, path: a.tar }\n');
    const run = async (...flags: string[]) => {
      let text = '';
      const io: CliIO = { stdout: { write: (t: string) => void (text += t), isTTY: false }, stderr: { write: () => {}, isTTY: false } };
      const code = await runCommand(['check', join(dir, 'recipe'), ...flags, '--variations', 'domain_host', '--out', join(dir, `check${flags.join('')}`), '--json'], io);
      return { code, result: JSON.parse(text) as CheckResult };
    };
    const raw = await run('--raw');
    const normalized = await run();
    assert.is(raw.result.mode, 'raw');
    assert.is(normalized.result.mode, 'normalized');
    assert.is(raw.code, 0);
    assert.is(normalized.code, 0);
    assert.is(raw.result.variations[0]!.method, 'uts-names');
    assert.is.not(raw.result.controls.artifacts[0]!.sha256, normalized.result.controls.artifacts[0]!.sha256, 'raw keeps the tar as written');
  } finally {
    if (prevStore === undefined) delete process.env.KILN_STORE;
    else process.env.KILN_STORE = prevStore;
    await cleanup();
  }
});

format.run();
command.run();
