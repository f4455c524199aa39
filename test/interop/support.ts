import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as assert from 'uvu/assert';
import { repoRoot } from '../helpers/index.js';
import { peer } from '../helpers/peers.js';

/**
 * The interop tests' shared parts: the rows of docs/interop.md (the commands the tests run
 * and the verdicts they expect), a runner for those commands, and real kiln outputs to run
 * them on.
 */

const root = repoRoot();
export const KILN = join(root, 'bin', 'kiln.js');
export const EXAMPLE_KEY = join(root, 'examples', 'keys', 'example.key');
export const EXAMPLE_PUB = join(root, 'examples', 'keys', 'example.pub');
export const INTEROP_DOC = join(root, 'docs', 'interop.md');
export const REBUILDER_ID = 'https://rebuilder.example.org/r1';

export interface InteropRow {
  /** The `case` column: the id a test names the row by. */
  id: string;
  tool: string;
  version: string;
  /** The command, as written (between backticks). */
  command: string;
  kilnFile: string;
  /** The first word of the `result` column. */
  expected: 'accepted' | 'rejected';
  result: string;
}

/** Parses the table of docs/interop.md: every row whose first cell is a case id. */
export function parseInteropTable(markdown: string): InteropRow[] {
  const rows: InteropRow[] = [];
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| case ') || line.startsWith('| ---')) continue;
    const cells = line.slice(1, -1).split(' | ').map((c) => c.trim());
    if (cells.length !== 6) throw new Error(`docs/interop.md: a table row with ${cells.length} cells, not 6: ${line}`);
    const [id, tool, version, command, kilnFile, result] = cells as [string, string, string, string, string, string];
    const expected = /^(accepted|rejected)\b/.exec(result)?.[1];
    if (!expected) throw new Error(`docs/interop.md: row ${id}: the result must start with "accepted" or "rejected"`);
    if (!/^`[^`]+`$/.test(command)) throw new Error(`docs/interop.md: row ${id}: the command must be one code span`);
    rows.push({ id, tool, version, command: command.slice(1, -1), kilnFile, expected: expected as InteropRow['expected'], result });
  }
  return rows;
}

let rows: InteropRow[] | undefined;

/** The row `id` of docs/interop.md (throws when there is none: the doc and the tests must agree). */
export function interopRow(id: string): InteropRow {
  rows ??= parseInteropTable(readFileSync(INTEROP_DOC, 'utf8'));
  const row = rows.find((r) => r.id === id);
  if (!row) throw new Error(`docs/interop.md has no row "${id}"`);
  return row;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Every command of the row, as run (after variables and paths were resolved). */
  ran: string[][];
}

/** A program name of the doc's commands → what to execute. */
function program(name: string): string[] {
  switch (name) {
    case 'cosign':
    case 'slsa-verifier':
      return [peer(name)];
    case 'python':
      return [peer('python')];
    case 'sigstore':
      return [join(dirname(peer('python')), 'sigstore')];
    case 'kiln':
      return [process.execPath, KILN];
    default:
      throw new Error(`docs/interop.md names a program the tests do not know: ${name}`);
  }
}

function exec(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { cwd, env, maxBuffer: 32 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs a row's command in `cwd`: commands joined by `&&` run in turn, and the last one's exit
 * status is the verdict (an earlier one failing is a test failure, not a verdict). `$NAME`
 * takes `vars.NAME`; `test/fixtures/interop/…` resolves in the repository.
 */
export async function runRow(row: InteropRow, cwd: string, vars: Record<string, string> = {}): Promise<RunResult> {
  const env = { ...process.env, COSIGN_PASSWORD: '', NO_COLOR: '1', KILN_STORE: sharedStore() };
  const commands = row.command.split(' && ').map((c) =>
    c.split(/\s+/).map((word) =>
      word.replace(/\$([A-Z0-9_]+)/g, (_, name: string) => {
        const value = vars[name];
        if (value === undefined) throw new Error(`row ${row.id}: no value for $${name}`);
        return value;
      }),
    ),
  );
  const ran: string[][] = [];
  let last = { code: 0, stdout: '', stderr: '' };
  for (const [i, [name, ...args]] of commands.entries()) {
    const argv = [...program(name!), ...args.map((a) => (a.startsWith('test/fixtures/interop/') ? join(root, a) : a))];
    ran.push(argv);
    last = await exec(argv, cwd, env);
    if (i < commands.length - 1 && last.code !== 0) {
      assert.unreachable(`row ${row.id}: step ${i + 1} (${argv.join(' ')}) failed with ${last.code}:\n${last.stdout}${last.stderr}`);
    }
  }
  return { ...last, ran };
}

/** Runs the row and asserts the verdict its result column names; returns the output for more checks. */
export async function expectRow(id: string, cwd: string, vars: Record<string, string> = {}): Promise<RunResult & { output: string }> {
  const row = interopRow(id);
  const result = await runRow(row, cwd, vars);
  const output = result.stdout + result.stderr;
  const verdict = result.code === 0 ? 'accepted' : 'rejected';
  assert.is(verdict, row.expected, `row ${id}: ${row.tool} ${verdict} (exit ${result.code}), docs/interop.md says ${row.expected}\n$ ${result.ran.map((a) => a.join(' ')).join('\n$ ')}\n${output}`);
  return { ...result, output };
}

/**
 * A store shared by the interop test files of one machine: the first build fetches and runs
 * the example's steps, later ones hit its cache (every object is verified by digest on read,
 * so a store left by an earlier run is a cache, not a risk).
 */
export function sharedStore(): string {
  return join(tmpdir(), `kiln-interop-store-${process.getuid?.() ?? 0}`);
}

export async function kiln(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return exec([process.execPath, KILN, ...args], cwd, { ...process.env, KILN_STORE: sharedStore() });
}

export interface HelloBuild {
  dir: string;
  artifact: string;
  sha256: string;
}

/**
 * `kiln build examples/hello --sign-key <key>` into `dir`, with the key's public half beside
 * it as `kiln.pub`: hello-1.0.0.tar.gz, hello.intoto.jsonl, hello.sigstore.json, hello.cdx.json.
 */
export async function buildHello(dir: string, key: { private: string; public: string }): Promise<HelloBuild> {
  await mkdir(dir, { recursive: true });
  const built = await kiln(['build', join(root, 'examples', 'hello'), '--out', dir, '--sign-key', key.private, '--json'], dir);
  assert.is(built.code, 0, built.stderr);
  const summary = JSON.parse(built.stdout) as { artifacts: Array<{ name: string; digests: { sha256: string } }> };
  await copyFile(key.public, join(dir, 'kiln.pub'));
  const artifact = summary.artifacts[0]!;
  return { dir, artifact: artifact.name, sha256: artifact.digests.sha256.replace(/^sha256:/, '') };
}

/** `kiln keygen --type <algorithm>`: `<dir>/<name>.key` and `.pub`. */
export async function keygen(dir: string, name: string, algorithm: 'ed25519' | 'ecdsa-p256'): Promise<{ private: string; public: string }> {
  const made = await kiln(['keygen', '--type', algorithm, '--out', join(dir, name)], dir);
  assert.is(made.code, 0, made.stderr);
  return { private: join(dir, `${name}.key`), public: join(dir, `${name}.pub`) };
}

/** `kiln rebuild <provenance> --rebuilder-id REBUILDER_ID --sign-key <key>` into `out`; the VSA file's path. */
export async function rebuild(provenance: string, options: { keys: string[]; inputs?: string[]; signKey: string; out: string }): Promise<string> {
  const args = ['rebuild', provenance, ...options.keys.flatMap((k) => ['--key', k]), ...(options.inputs ?? []).flatMap((i) => ['--input', i])];
  const done = await kiln([...args, '--sign-key', options.signKey, '--rebuilder-id', REBUILDER_ID, '--out', options.out, '--json'], dirname(options.out));
  const files = done.stdout ? (JSON.parse(done.stdout) as { files?: string[] }).files ?? [] : [];
  const vsa = files.find((f) => f.endsWith('.vsa.intoto.jsonl'));
  assert.ok(vsa, `kiln rebuild wrote no VSA (exit ${done.code}): ${done.stderr}`);
  return vsa!;
}

/** The statement inside line `line` (1-based) of a .intoto.jsonl, as bytes and parsed. */
export async function statementOf(file: string, line = 1): Promise<{ bytes: Buffer; statement: Record<string, any> }> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  const bytes = Buffer.from((JSON.parse(lines[line - 1]!) as { payload: string }).payload, 'base64');
  return { bytes, statement: JSON.parse(bytes.toString('utf8')) as Record<string, any> };
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function writeJSON(file: string, value: unknown): Promise<void> {
  await writeFile(file, JSON.stringify(value));
}
