import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fetchInput, gitPurl, ingestGitCommit, parseLsRemote, resolveGitRef, treeIntegrity } from '../../src/fetch/index.js';
import type { GitInputSpec } from '../../src/recipe/types.js';
import { createStore } from '../../src/store/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { listBlobs } from '../store/support.js';
import { makeRepo } from './git-repo.js';
import { where } from './support.js';

const spec = (url: string, commit: string, integrity = '', ref?: string): GitInputSpec => ({
  kind: 'git', name: 'tool', url, commit, integrity, unpack: false, where, ...(ref !== undefined && { ref }),
});

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

const LsRemote = suite('parseLsRemote');

LsRemote('prefers a peeled tag, then a tag, then a branch; full names match exactly', () => {
  const text = `${A}\tHEAD\n${B}\trefs/heads/v1\n${C}\trefs/tags/v1\n${A}\trefs/tags/v1^{}\n`;
  assert.is(parseLsRemote(text, 'v1'), A);
  assert.is(parseLsRemote(text, 'refs/heads/v1'), B);
  assert.is(parseLsRemote(text, 'HEAD'), A);
  assert.is(parseLsRemote(text, 'nope'), undefined);
});

const Purl = suite('gitPurl');

Purl('names the repository and commit in vcs_url', () => {
  assert.is(gitPurl('tool', 'https://h.example/t.git', A), `pkg:generic/tool?vcs_url=git+https://h.example/t.git%40${A}`);
});

const Git = suite('git inputs');

Git('resolves a tag and a branch to commits with ls-remote', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const repo = await makeRepo(dir);
    assert.is(await resolveGitRef(spec(repo.url, '', '', 'v1'), { cwd: dir }), repo.first);
    assert.is(await resolveGitRef(spec(repo.url, '', '', 'main'), { cwd: dir }), repo.second);
    await rejectsWithCode(() => resolveGitRef(spec(repo.url, '', '', 'nope'), { cwd: dir }), 'KILN_FETCH_GIT');
  } finally {
    await cleanup();
  }
});

Git('fetches the tree of a commit that is not a tip, without .git, ignoring export attributes', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const repo = await makeRepo(dir);
    const store = await createStore({ root: join(dir, 'store') });
    const tree = await ingestGitCommit(store, spec(repo.url, repo.first), {});
    const got = await fetchInput(store, spec(repo.url, repo.first, treeIntegrity(tree.manifestBytes)), { recipeDir: dir });
    assert.is(got.uri, `git+${repo.url}@${repo.first}`);
    assert.is(got.mount.kind, 'tree');
    const manifest = await store.readTree(got.digest);
    assert.equal(manifest.entries.map((e) => e.path), ['.gitattributes', 'link', 'run.sh', 'src', 'src/a.txt']);
    assert.equal(manifest.entries.find((e) => e.path === 'link'), { path: 'link', type: 'symlink', target: 'src/a.txt' });
    const run = manifest.entries.find((e) => e.path === 'run.sh');
    assert.is(run?.type === 'file' && run.mode, 0o755);
  } finally {
    await cleanup();
  }
});

Git('a commit that does not exist is KILN_FETCH_GIT, and nothing enters the store', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const repo = await makeRepo(dir);
    const store = await createStore({ root: join(dir, 'store') });
    await rejectsWithCode(() => fetchInput(store, spec(repo.url, '0123456789abcdef0123456789abcdef01234567', 'sha256-' + 'A'.repeat(43) + '='), { recipeDir: dir }), 'KILN_FETCH_GIT');
    assert.equal(await listBlobs(store.root), []);
  } finally {
    await cleanup();
  }
});

Git('a tree that does not match the pinned integrity is KILN_FETCH_INTEGRITY', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const repo = await makeRepo(dir);
    const store = await createStore({ root: join(dir, 'store') });
    const first = await ingestGitCommit(store, spec(repo.url, repo.first), {});
    await rejectsWithCode(() => fetchInput(store, spec(repo.url, repo.second, treeIntegrity(first.manifestBytes)), { recipeDir: dir }), 'KILN_FETCH_INTEGRITY');
  } finally {
    await cleanup();
  }
});

LsRemote.run();
Purl.run();
Git.run();
