import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t', GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent' };

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: ENV, encoding: 'utf8' }).trim();
}

/**
 * A local repository with two commits on `main` and a tag `v1` on the first. The first
 * commit has src/a.txt, an executable, a symlink and a .gitattributes that would drop a
 * file from `git archive` (kiln must ignore it).
 */
export async function makeRepo(dir: string): Promise<{ url: string; first: string; second: string }> {
  const repo = join(dir, 'repo');
  await mkdir(join(repo, 'src'), { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  await writeFile(join(repo, 'src', 'a.txt'), 'a\n');
  await writeFile(join(repo, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  await writeFile(join(repo, '.gitattributes'), 'src/a.txt export-ignore\n');
  await symlink('src/a.txt', join(repo, 'link'));
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'one');
  const first = git(repo, 'rev-parse', 'HEAD');
  git(repo, 'tag', '-a', 'v1', '-m', 'v1');
  await writeFile(join(repo, 'src', 'b.txt'), 'b\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'two');
  return { url: `file://${repo}`, first, second: git(repo, 'rev-parse', 'HEAD') };
}
