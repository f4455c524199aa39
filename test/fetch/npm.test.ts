import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compareSemver, fetchInput, npmPurl, parseNpmView, resolveNpm } from '../../src/fetch/index.js';
import type { NpmInputSpec } from '../../src/recipe/types.js';
import { createStore } from '../../src/store/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { listBlobs } from '../store/support.js';
import { npmTarball, startNpmRegistry, useRegistry } from './npm-registry.js';
import { sri, where } from './support.js';

const spec = (version: string, integrity: string): NpmInputSpec => ({ kind: 'npm', name: 'left-pad', package: 'left-pad', version, integrity, unpack: false, where });

const Purl = suite('npmPurl');

Purl('encodes the scope\'s @ and leaves a plain name as is', () => {
  assert.is(npmPurl('left-pad', '1.3.0'), 'pkg:npm/left-pad@1.3.0');
  assert.is(npmPurl('@types/node', '20.1.0'), 'pkg:npm/%40types/node@20.1.0');
});

const View = suite('parseNpmView');

View('takes the highest version when a range matches several', () => {
  const row = (v: string) => ({ name: 'a', version: v, 'dist.tarball': `t${v}`, 'dist.integrity': `i${v}` });
  assert.is(parseNpmView(JSON.stringify([row('1.2.0'), row('1.10.0'), row('1.9.0')]))?.version, '1.10.0');
  assert.is(parseNpmView(JSON.stringify(row('2.0.0')))?.tarball, 't2.0.0');
  assert.is(parseNpmView(''), undefined);
});

const Semver = suite('compareSemver');

Semver('orders prereleases below their release, numerically by part', () => {
  const sorted = ['1.0.0', '1.0.0-rc.10', '1.0.0-rc.2', '0.9.9', '1.0.0-alpha'].sort(compareSemver);
  assert.equal(sorted, ['0.9.9', '1.0.0-alpha', '1.0.0-rc.2', '1.0.0-rc.10', '1.0.0']);
});

const Npm = suite('npm through the user\'s npm client');

Npm('resolves a range to an exact version, tarball URL and the registry\'s integrity', async () => {
  const { dir, cleanup } = await makeTempDir();
  const registry = await startNpmRegistry('left-pad', ['1.2.0', '1.3.0', '2.0.0']);
  const restore = useRegistry(registry.url, dir);
  try {
    const got = await resolveNpm(spec('^1.2.0', ''), { cwd: dir });
    assert.equal(got, { package: 'left-pad', version: '1.3.0', tarball: `${registry.url}/left-pad/-/left-pad-1.3.0.tgz`, integrity: registry.integrity['1.3.0'] });
  } finally {
    restore();
    await registry.close();
    await cleanup();
  }
});

Npm('fetches the tarball through npm pack and verifies it against the pinned integrity', async () => {
  const { dir, cleanup } = await makeTempDir();
  const registry = await startNpmRegistry('left-pad', ['1.3.0']);
  const restore = useRegistry(registry.url, dir);
  try {
    const store = await createStore({ root: join(dir, 'store') });
    const got = await fetchInput(store, spec('1.3.0', registry.integrity['1.3.0']!), { recipeDir: dir });
    assert.is(got.uri, 'pkg:npm/left-pad@1.3.0');
    assert.equal(await store.readBlob(got.digest), await npmTarball('left-pad', '1.3.0'));
    assert.ok(registry.hits.some((h) => h.endsWith('.tgz')), 'the tarball came from the configured registry');
  } finally {
    restore();
    await registry.close();
    await cleanup();
  }
});

Npm('refuses a tarball whose integrity is not the pinned one, storing nothing', async () => {
  const { dir, cleanup } = await makeTempDir();
  const registry = await startNpmRegistry('left-pad', ['1.3.0']);
  const restore = useRegistry(registry.url, dir);
  try {
    const store = await createStore({ root: join(dir, 'store') });
    await rejectsWithCode(() => fetchInput(store, spec('1.3.0', sri('something else', 'sha512')), { recipeDir: dir }), 'KILN_FETCH_INTEGRITY');
    assert.equal(await listBlobs(store.root), []);
  } finally {
    restore();
    await registry.close();
    await cleanup();
  }
});

Npm('a registry answer whose integrity lies fails in npm itself, as KILN_FETCH_NPM', async () => {
  const { dir, cleanup } = await makeTempDir();
  const registry = await startNpmRegistry('left-pad', ['1.3.0'], { lie: '1.3.0' });
  const restore = useRegistry(registry.url, dir);
  try {
    const store = await createStore({ root: join(dir, 'store') });
    await rejectsWithCode(() => fetchInput(store, spec('1.3.0', registry.integrity['1.3.0']!), { recipeDir: dir }), 'KILN_FETCH_NPM');
    assert.equal(await listBlobs(store.root), []);
  } finally {
    restore();
    await registry.close();
    await cleanup();
  }
});

Npm('a version the registry does not have is KILN_FETCH_NPM', async () => {
  const { dir, cleanup } = await makeTempDir();
  const registry = await startNpmRegistry('left-pad', ['1.3.0']);
  const restore = useRegistry(registry.url, dir);
  try {
    await rejectsWithCode(() => resolveNpm(spec('9.9.9', ''), { cwd: dir }), 'KILN_FETCH_NPM');
  } finally {
    restore();
    await registry.close();
    await cleanup();
  }
});

Purl.run();
View.run();
Semver.run();
Npm.run();
