import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GitInputSpec } from '../recipe/types.js';
import type { TreeManifest } from '../store/tree.js';
import type { Store } from '../store/types.js';
import { canonicalJSON } from '../util/canonical-json.js';
import type { Digest } from '../util/digest.js';
import { inputError } from './errors.js';
import type { Fetched } from './fetched.js';
import { checkSRI } from './integrity.js';
import { runTool, tail, type ToolResult } from './run.js';
import type { FetchOptions } from './types.js';

/**
 * `git+<url>@<commit>`: the form SLSA provenance uses for a git source (resolvedDependencies
 * `uri`, with `digest.gitCommit`).
 */
export function gitUri(url: string, commit: string): string {
  return `git+${url}@${commit}`;
}

/**
 * The package URL of a git tree (purl spec, type generic with a vcs_url qualifier).
 * Example: gitPurl('tool', 'https://h/tool.git', 'ab…') → 'pkg:generic/tool?vcs_url=git+https://h/tool.git%40ab…'
 */
export function gitPurl(name: string, url: string, commit: string): string {
  const vcs = encodeURIComponent(gitUri(url, commit)).replace(/%3A/g, ':').replace(/%2F/g, '/').replace(/%2B/g, '+');
  return `pkg:generic/${encodeURIComponent(name)}?vcs_url=${vcs}`;
}

const COMMIT = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
const URL_SCHEMES = /^(?:https?|ssh|git|file):\/\//;

/**
 * Never prompt (a build must not hang on a password), messages in one language, and never the
 * `ext::` transport, which runs commands. The user's own git configuration (credentials,
 * proxies, insteadOf) otherwise applies.
 */
const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
const GIT_CONFIG = ['-c', 'protocol.ext.allow=never', '-c', 'advice.detachedHead=false'];

type Target = Pick<GitInputSpec, 'name' | 'url' | 'where'> & Partial<GitInputSpec>;

function assertUrl(spec: Target): void {
  if (!URL_SCHEMES.test(spec.url)) {
    throw inputError(spec as GitInputSpec, 'KILN_FETCH_UNSUPPORTED', `not a git URL kiln fetches (https, http, ssh, git, file): ${spec.url}`);
  }
}

function gitFailed(spec: Target, what: string, result: ToolResult, hint?: string) {
  const detail = result.error ? result.error.message : tail(result.stderr);
  return inputError(spec as GitInputSpec, 'KILN_FETCH_GIT', `${what} failed: ${detail}`, {
    ...(result.error && { cause: result.error }),
    found: tail(result.stderr),
    hint: result.error ? 'kiln fetches git inputs with the git client: install git' : hint,
  });
}

/**
 * Picks the commit a ref names from `git ls-remote` output. Pure. Tags win over branches (a
 * peeled `^{}` line gives an annotated tag's commit); a full name (`refs/…`, `HEAD`) must
 * match exactly. Undefined when nothing matches.
 */
export function parseLsRemote(text: string, ref: string): string | undefined {
  const refs = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [oid, name] = line.split('\t');
    if (oid && name && COMMIT.test(oid)) refs.set(name, oid);
  }
  const candidates = ref === 'HEAD' || ref.startsWith('refs/') ? [`${ref}^{}`, ref] : [`refs/tags/${ref}^{}`, `refs/tags/${ref}`, `refs/heads/${ref}`];
  for (const name of candidates) {
    const oid = refs.get(name);
    if (oid) return oid;
  }
  return undefined;
}

/** Resolves `ref` (default HEAD; a full commit id is taken as is) to a commit with `git ls-remote`. Network: `kiln lock` only. */
export async function resolveGitRef(spec: Target, options: { cwd: string; signal?: AbortSignal }): Promise<string> {
  assertUrl(spec);
  const ref = spec.ref ?? 'HEAD';
  if (COMMIT.test(ref)) return ref;
  const result = await runTool('git', [...GIT_CONFIG, 'ls-remote', '--', spec.url], { ...options, env: GIT_ENV });
  if (result.error || result.code !== 0) throw gitFailed(spec, `git ls-remote ${spec.url}`, result, 'check the URL and your git credentials');
  const commit = parseLsRemote(result.stdout, ref);
  if (!commit) {
    throw inputError(spec as GitInputSpec, 'KILN_FETCH_GIT', `${spec.url} has no ref "${ref}"`, { hint: 'name a branch, a tag, or a full ref (refs/…)' });
  }
  return commit;
}

export interface GitTree {
  manifest: TreeManifest;
  digest: Digest;
  /** The manifest's canonical JSON: what a git input's integrity pins. */
  manifestBytes: Buffer;
}

/**
 * The tree at `spec.commit`, without .git, into the store: `git fetch --depth 1 <url>
 * <commit>` into a fresh bare repository (a server that refuses to serve an unadvertised
 * commit gets a full fetch of its branches and tags instead), then `git archive` streamed
 * through the tar reader with the input rules (links must stay inside). `$GIT_DIR/info/
 * attributes` switches off export-ignore and export-subst, so the tree is the commit's tree,
 * byte for byte, whatever the repository's .gitattributes say. Submodules are not included
 * (git archive leaves gitlinks out).
 */
export async function ingestGitCommit(store: Store, spec: Target & { commit: string }, options: { signal?: AbortSignal }): Promise<GitTree> {
  assertUrl(spec);
  if (!COMMIT.test(spec.commit)) throw inputError(spec as GitInputSpec, 'KILN_FETCH_UNSUPPORTED', `not a full commit id: ${JSON.stringify(spec.commit)}`);
  const dir = await mkdtemp(join(tmpdir(), 'kiln-git-'));
  try {
    const git = (args: string[]) => runTool('git', [...GIT_CONFIG, ...args], { cwd: dir, signal: options.signal, env: { ...GIT_ENV, GIT_DIR: dir } });
    let result = await git(['init', '-q', '--bare', dir]);
    if (result.error || result.code !== 0) throw gitFailed(spec, 'git init', result);
    await mkdir(join(dir, 'info'), { recursive: true });
    await writeFile(join(dir, 'info', 'attributes'), '* -export-ignore -export-subst\n');
    result = await git(['fetch', '-q', '--no-tags', '--depth', '1', '--', spec.url, spec.commit]);
    if (result.code !== 0 && !result.error && !options.signal?.aborted) {
      result = await git(['fetch', '-q', '--', spec.url, '+refs/heads/*:refs/kiln/heads/*', '+refs/tags/*:refs/kiln/tags/*']);
    }
    if (options.signal?.aborted) throw inputError(spec as GitInputSpec, 'KILN_FETCH_ABORTED', 'fetch aborted', { cause: options.signal.reason });
    if (result.error || result.code !== 0) throw gitFailed(spec, `git fetch ${spec.url} ${spec.commit}`, result, 'check the URL, the commit id and your git credentials');
    const type = await git(['cat-file', '-t', spec.commit]);
    if (type.code !== 0 || type.stdout.trim() !== 'commit') {
      throw inputError(spec as GitInputSpec, 'KILN_FETCH_GIT', `${spec.url} has no commit ${spec.commit}`, {
        hint: 'the commit may have been force-pushed away; `kiln lock --update` pins the ref\'s current commit',
      });
    }
    const { ingestTar } = await import('../archive/index.js');
    const child = spawn('git', [...GIT_CONFIG, 'archive', '--format=tar', spec.commit], {
      cwd: dir,
      env: { ...process.env, ...GIT_ENV, GIT_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4096)));
    const exited = new Promise<number | null>((resolve) => {
      child.on('error', () => resolve(-1));
      child.on('close', resolve);
    });
    let ingested;
    try {
      ingested = await ingestTar(store, child.stdout, { label: spec.name, links: 'contained' });
    } catch (err) {
      child.kill();
      await exited;
      throw err;
    }
    const code = await exited;
    if (code !== 0) throw gitFailed(spec, `git archive ${spec.commit}`, { code, stdout: '', stderr });
    return { ...ingested, manifestBytes: Buffer.from(canonicalJSON(ingested.manifest)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The SRI that pins a git input: sha256 of its tree manifest, as for a folder. */
export function treeIntegrity(manifestBytes: Uint8Array): string {
  return `sha256-${createHash('sha256').update(manifestBytes).digest('base64')}`;
}

/** Fetches a pinned git input and checks its tree manifest against the input's SRI. */
export async function fetchGit(store: Store, spec: GitInputSpec, options: FetchOptions): Promise<Fetched> {
  const tree = await ingestGitCommit(store, spec, options);
  checkSRI(spec, tree.manifestBytes);
  return { digest: tree.digest, size: tree.manifestBytes.length, mount: { kind: 'tree', tree: tree.digest } };
}
