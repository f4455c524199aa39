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
