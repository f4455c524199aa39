import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';

/** A fresh temp folder per test; `cleanup()` removes it. */
export async function makeTempDir(prefix = 'kiln-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Asserts that `fn` rejects with an error carrying `code`; returns the error for more checks. */
export async function rejectsWithCode<E = Error & { code: string }>(fn: () => Promise<unknown>, code: string): Promise<E> {
  try {
    await fn();
  } catch (err) {
    const found = (err as { code?: unknown }).code;
    assert.is(found, code, `expected code ${code}, got ${String(found)}: ${(err as Error).message}`);
    return err as E;
  }
  assert.unreachable(`expected a rejection with code ${code}`);
  throw new Error('unreachable');
}

export function throwsWithCode<E = Error & { code: string }>(fn: () => unknown, code: string): E {
  try {
    fn();
  } catch (err) {
    const found = (err as { code?: unknown }).code;
    assert.is(found, code, `expected code ${code}, got ${String(found)}: ${(err as Error).message}`);
    return err as E;
  }
  assert.unreachable(`expected a throw with code ${code}`);
  throw new Error('unreachable');
}

/** The repository root (tests run from dist/test/... or test/... through tsx). */
export function repoRoot(): string {
  const here = new URL('.', import.meta.url).pathname;
  const marker = here.includes('/dist/test/') ? '/dist/test/' : '/test/';
  return here.slice(0, here.lastIndexOf(marker));
}

/**
 * Every path under `dir` with its size (folders end in `/`), sorted: compare two calls to
 * assert that nothing under `dir` was created, removed or changed in size.
 */
export async function listTree(dir: string): Promise<string[]> {
  const { readdir, lstat } = await import('node:fs/promises');
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        out.push(`${path}/`);
        await walk(path);
      } else {
        out.push(`${path} ${(await lstat(join(dir, path))).size}`);
      }
    }
  };
  await walk('');
  return out.sort();
}

/** Runs bin/kiln.js in a child process: exit code, stdout, stderr (the real CLI, as users run it). */
export async function runKiln(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const { execFile } = await import('node:child_process');
  const kiln = join(repoRoot(), 'bin', 'kiln.js');
  return new Promise((resolve) => {
    execFile(process.execPath, [kiln, ...args], { env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
