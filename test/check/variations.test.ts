import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadVariations, parseVariations, selectVariations, toBuildVariation, variationMethod, unavailableReason } from '../../src/check/index.js';
import { repoRoot, throwsWithCode } from '../helpers/index.js';

const bundled = () => readFile(join(repoRoot(), 'sandbox', 'variations.yaml'), 'utf8');
const REPROTEST = ['time', 'build_path', 'user_group', 'domain_host', 'timezone', 'locales', 'umask', 'environment', 'num_cpus', 'fileordering', 'home', 'kernel'];

const parse = suite('parseVariations');

parse('the bundled set names every variation of the issue, with reprotest names', async () => {
  const set = parseVariations(await bundled(), 'variations.yaml');
  assert.equal(set.variations.map((v) => v.name), REPROTEST);
  assert.match(set.digest, /^sha256:[0-9a-f]{64}$/);
});

parse('kernel is unsupported on Docker, with a reason', async () => {
  const kernel = parseVariations(await bundled(), 'v.yaml').variations.find((v) => v.name === 'kernel')!;
  assert.is(kernel.supported, false);
  assert.ok(kernel.reason && kernel.reason.length > 20);
});

parse('rejects an unknown apply key', () => {
  const text = 'kiln: check-variations/v1\nvariations:\n  - { name: x, description: d, changes: c, apply: { personality: linux32 } }\n';
  throwsWithCode(() => parseVariations(text, 'v.yaml'), 'KILN_CHECK_BAD_VARIATIONS');
});

parse('rejects an unsupported variation without a reason', () => {
  const text = 'kiln: check-variations/v1\nvariations:\n  - { name: x, description: d, changes: c, supported: false }\n';
  throwsWithCode(() => parseVariations(text, 'v.yaml'), 'KILN_CHECK_BAD_VARIATIONS');
});

parse('rejects a variation that would override SOURCE_DATE_EPOCH', () => {
  const text = 'kiln: check-variations/v1\nvariations:\n  - { name: x, description: d, changes: c, apply: { env: { SOURCE_DATE_EPOCH: "1" } } }\n';
  throwsWithCode(() => parseVariations(text, 'v.yaml'), 'KILN_CHECK_BAD_VARIATIONS');
});

parse('rejects a working directory on a contract path', () => {
  const text = 'kiln: check-variations/v1\nvariations:\n  - { name: x, description: d, changes: c, apply: { workdir: /kiln/out } }\n';
  throwsWithCode(() => parseVariations(text, 'v.yaml'), 'KILN_CHECK_BAD_VARIATIONS');
});

const select = suite('selectVariations');

select('keeps the set order and refuses an unknown name', async () => {
  const set = await loadVariations();
  assert.equal(selectVariations(set, ['home', 'time']).map((v) => v.name), ['time', 'home']);
  throwsWithCode(() => selectVariations(set, ['kernal']), 'KILN_CHECK_UNKNOWN_VARIATION');
});

const combine = suite('toBuildVariation');

combine('applies every setting at once, with the random path segment filled in', async () => {
  const set = await loadVariations();
  const v = toBuildVariation(set.variations.filter((x) => x.supported), 'abcd1234');
  assert.is(v.plan?.workdir, '/build/abcd1234/work');
  assert.is(v.plan?.user, '2345:2345');
  assert.is(v.plan?.umask, '0002');
  assert.is(v.plan?.env?.TZ, 'XST-13');
  assert.is(v.plan?.env?.KILN_CHECK_EXTRA, '1');
  assert.is(v.engine?.hostname, 'kiln-check-variant');
  assert.is(v.engine?.cpusetCpus, '0');
  assert.is(v.tmpfs, true);
});

combine('time alone asks only for a shifted clock, with the library to inject when there is one', async () => {
  const set = await loadVariations();
  assert.equal(toBuildVariation(selectVariations(set, ['time']), 'x'), { clock: { offsetSeconds: 32253197 } });
  const library = { digest: `sha256:${'1'.repeat(64)}` as const, size: 3 };
  assert.equal(toBuildVariation(selectVariations(set, ['time']), 'x', { memoryMounts: false, faketimeLibrary: library }), { clock: { offsetSeconds: 32253197, library } });
});

combine('fileordering puts mounts in memory only on an engine that can; its method says which', async () => {
  const set = await loadVariations();
  const fileordering = selectVariations(set, ['fileordering']);
  assert.equal(toBuildVariation(fileordering, 'x', { memoryMounts: true }), { tmpfs: true, mountsInMemory: true });
  assert.equal(toBuildVariation(fileordering, 'x', { memoryMounts: false }), { tmpfs: true });
  assert.is(variationMethod(fileordering[0]!, { memoryMounts: true }).method, 'tmpfs-scratch+tmpfs-mounts');
  const without = variationMethod(fileordering[0]!, { memoryMounts: false });
  assert.is(without.method, 'tmpfs-scratch');
  assert.match(without.detail ?? '', /cannot place mounts in memory/);
});

combine('time\'s method is libfaketime only where an image took it', async () => {
  const time = selectVariations(await loadVariations(), ['time'])[0]!;
  const took = variationMethod(time, { memoryMounts: true }, {
    toolchain: { method: 'libfaketime', source: 'injected', library: '/kiln/check/libfaketime.so.1', offsetSeconds: 32253197 },
    base: { method: 'none', reason: 'static' },
  });
  assert.is(took.method, 'libfaketime+later-run');
  assert.match(took.detail ?? '', /image base: real clock/);
  assert.is(variationMethod(time, { memoryMounts: true }, { base: { method: 'none', reason: 'static' } }).method, 'later-run');
});

const unavailable = suite('unavailableReason');

unavailable('num_cpus is unavailable on a one-CPU host and available on two', async () => {
  const v = selectVariations(await loadVariations(), ['num_cpus'])[0]!;
  assert.type(unavailableReason(v, { cpus: 1 }), 'string');
  assert.is(unavailableReason(v, { cpus: 2 }), undefined);
});

unavailable('an engine without a feature (a farm) reports the variations that need it unavailable; the others stay', async () => {
  const all = await loadVariations();
  const byName = (n: string) => selectVariations(all, [n])[0]!;
  const farm = { cpus: 8, features: [] as const };
  for (const n of ['user_group', 'domain_host', 'num_cpus']) assert.type(unavailableReason(byName(n), farm), 'string', n);
  for (const n of ['timezone', 'locales', 'umask', 'environment', 'home']) assert.is(unavailableReason(byName(n), farm), undefined, n);
  const docker = { cpus: 8, features: ['mounts-in-memory', 'any-user', 'uts-names', 'cpuset', 'tmpfs'] as const };
  for (const n of ['user_group', 'domain_host', 'num_cpus']) assert.is(unavailableReason(byName(n), docker), undefined, n);
});

parse.run();
select.run();
combine.run();
unavailable.run();
