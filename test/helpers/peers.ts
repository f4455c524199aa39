import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot } from './index.js';

/**
 * The interop tests' peers: tools kiln did not write, at pinned versions, installed by
 * scripts/test-peers.sh into a cache outside the repository. This is the one place tests find
 * them. A missing peer (or one at another version) FAILS the test that needs it, so CI cannot
 * go green without running them; `KILN_TEST_PEERS=skip` turns that into a skip with a message,
 * for quick local runs only.
 */

export type PeerName = 'cosign' | 'slsa-verifier' | 'python';

/** Python packages whose versions docs/interop.md names. */
export const PYTHON_PEERS = ['sigstore', 'securesystemslib', 'in-toto-attestation', 'cyclonedx-python-lib'] as const;

/** `${KILN_TEST_PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kiln-test-peers}`, as the script computes it. */
export function peersDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KILN_TEST_PEERS_DIR) return env.KILN_TEST_PEERS_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'kiln-test-peers');
}

/** Pinned versions: Go tools from scripts/test-peers.pins, Python packages from the requirements. */
export function pinnedVersions(): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const line of readFileSync(join(repoRoot(), 'scripts', 'test-peers.pins'), 'utf8').split('\n')) {
    const m = /^([a-z0-9-]+)=\S+@(v[0-9][^\s]*)\s/.exec(line);
    if (m) versions[m[1]!] = m[2]!;
  }
  for (const line of readFileSync(join(repoRoot(), 'scripts', 'test-peers-requirements.txt'), 'utf8').split('\n')) {
    const m = /^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)/.exec(line);
    if (m) versions[m[1]!.toLowerCase()] = m[2]!;
  }
  return versions;
}

const found = new Map<PeerName, string | Error>();

function locate(name: PeerName): string | Error {
  const dir = peersDir();
  const hint = 'run `bash scripts/test-peers.sh` (or set KILN_TEST_PEERS=skip to skip interop tests locally)';
  if (name === 'python') {
    const python = join(dir, 'venv', 'bin', 'python');
    if (!existsSync(python)) return new Error(`the Python test peers are not installed (no ${python}): ${hint}`);
    const pins = pinnedVersions();
    const run = spawnSync(python, ['-c', `import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in ${JSON.stringify(PYTHON_PEERS)}}))`], { encoding: 'utf8' });
    if (run.status !== 0) return new Error(`the Python test peers at ${python} do not load: ${run.stderr.trim()}; ${hint}`);
    const installed = JSON.parse(run.stdout) as Record<string, string>;
    const wrong = PYTHON_PEERS.filter((p) => installed[p] !== pins[p]).map((p) => `${p} ${installed[p]} (pinned ${pins[p]})`);
    if (wrong.length > 0) return new Error(`Python test peers at other versions: ${wrong.join(', ')}; ${hint}`);
    return python;
  }
  const binary = join(dir, 'bin', name);
  if (!existsSync(binary)) return new Error(`${name} is not installed (no ${binary}): ${hint}`);
  const pinned = pinnedVersions()[name];
  const run = spawnSync(binary, ['version'], { encoding: 'utf8' });
  const version = /^GitVersion:\s+(\S+)$/m.exec(run.stdout + run.stderr)?.[1];
  if (version !== pinned) return new Error(`${binary} is ${version ?? 'of unknown version'}, pinned ${pinned}; ${hint}`);
  return binary;
}

/** True when missing peers skip instead of failing (local quick runs only). */
export function peersMaySkip(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.KILN_TEST_PEERS === 'skip';
}

/**
 * The path of a peer, checked to be at its pinned version (once per process). Missing: throws
 * (the test fails), or, with KILN_TEST_PEERS=skip, returns undefined: use `peersOrSkip`.
 */
export function peer(name: PeerName): string {
  let result = found.get(name);
  if (result === undefined) {
    result = locate(name);
    found.set(name, result);
  }
  if (result instanceof Error) throw result;
  return result;
}

/**
 * A uvu suite for tests that run peers. When every named peer is installed at its pinned
 * version it is a plain suite. Otherwise the cases registered on it never run, and the suite
 * holds one case instead: a failing one that says what is missing and how to install it, or,
 * with KILN_TEST_PEERS=skip, a skipped one that says the same.
 */
export function peerSuite(title: string, names: PeerName[]): Test {
  const real = suite(title);
  const problems: string[] = [];
  for (const name of names) {
    try {
      peer(name);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length === 0) return real;
  const reason = problems.join('; ');
  if (peersMaySkip()) real.skip(`skipped (KILN_TEST_PEERS=skip): ${reason}`, () => {});
  else real(`the test peers are installed: ${names.join(', ')}`, () => assert.unreachable(reason));
  const ignore = Object.assign(() => {}, { each: () => {} });
  return Object.assign(() => {}, { only: () => {}, skip: () => {}, before: ignore, after: ignore, run: () => real.run() }) as unknown as Test;
}
