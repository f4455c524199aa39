import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isKilnError, UsageError } from '../util/errors.js';
import { escapeTerminal } from '../util/terminal.js';
import { createPlainReporter, createTerminalReporter, formatError, type Output } from './render.js';
import { SOURCE_FLAGS, sourceOptions } from './sources.js';

export const USAGE = `kiln — hermetic, reproducible builds

usage:
  kiln build [recipe|dir] [--out DIR] [--no-cache] [--locked] [--jobs N] [--sign-key FILE] [--builder-id ID]
             [--mirror DIR|URL…] [--debian-snapshot URL] [--json]
  kiln lock [recipe|dir] [--update [NAME…]] [--json]
  kiln keygen [--type ed25519|ecdsa-p256] --out PREFIX
  kiln rebuild <provenance> (--key PUB… | --trusted-root FILE --certificate-identity ID|--certificate-identity-regexp RE
              --certificate-oidc-issuer URL | --insecure-ignore-signature) [--input NAME=PATH…] [--original DIR|FILE…]
              [--sign-key FILE] [--rebuilder-id ID] [--out DIR] [--use-cache] [--jobs N] [--mirror DIR|URL…]
              [--debian-snapshot URL] [--json]
  kiln vendor [recipe|dir] --out DIR [--mirror DIR|URL…] [--debian-snapshot URL] [--json]
  kiln vendor [recipe|dir] --check DIR [--json]
  kiln diff <a> <b> [--json] [--html FILE] [--max-spill BYTES]
  kiln check [recipe|dir] [--variations LIST] [--out DIR] [--keep] [--jobs N] [--sign-key FILE] [--json]
  kiln verify <artifact…> --provenance FILE [--key PUB…] [--builder-id ID] [--policy FILE]
              [--trusted-root FILE --certificate-identity ID|--certificate-identity-regexp RE
               --certificate-oidc-issuer URL] [--rebuilds VSA… --rebuilder-key PUB… [--min-rebuilds K]] [--json]
  kiln inspect <envelope|bundle> [--key PUB…] [--json]
  kiln digest <path>                      the integrity that pins a file or folder
  kiln cache stats|verify|gc [--max-age DAYS] [--dry-run] [--json]
  kiln version

  store: $KILN_STORE (default $XDG_CACHE_HOME/kiln, else ~/.cache/kiln)
  mirrors: --mirror (repeatable), then $KILN_MIRRORS (whitespace-separated); snapshot: $KILN_DEBIAN_SNAPSHOT
  exit:  0 success · 1 a build step failed / verdict negative · 2 bad input or usage
`;

export interface CliIO {
  stdout: Output;
  stderr: Output;
}

const defaultIO = (): CliIO => ({
  stdout: { write: (t) => void process.stdout.write(t), isTTY: process.stdout.isTTY, columns: process.stdout.columns },
  stderr: { write: (t) => void process.stderr.write(t), isTTY: process.stderr.isTTY, columns: process.stderr.columns },
});

/** Runs one kiln command; resolves to the process exit code. */
export async function main(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  try {
    switch (command) {
      case 'build':
        return await buildCommand(rest, io);
      case 'cache':
        return await cacheCommand(rest, io);
      case 'digest':
        return await digestCommand(rest, io);
      case 'rebuild':
        return await rebuildCommand(rest, io);
      case 'vendor': {
        const { runVendorCommand } = await import('../vendor/index.js');
        return await runVendorCommand(rest, io);
      }
      case 'lock': {
        const { runLockCommand } = await import('../lock/index.js');
        return await runLockCommand(rest, io);
      }
      case 'check': {
        const { runCheckCommand } = await import('../check/index.js');
        return await runCheckCommand(rest, io);
      }
      case 'diff': {
        const { runDiffCommand } = await import('../diff/index.js');
        return await runDiffCommand(rest, io);
      }
      case 'verify': {
        const { runVerifyCommand } = await import('../verify/index.js');
        return await runVerifyCommand(rest, io);
      }
      case 'inspect': {
        const { runInspectCommand } = await import('../verify/index.js');
        return await runInspectCommand(rest, io);
      }
      case 'keygen': {
        const { runKeygenCommand } = await import('../attest/index.js');
        return await runKeygenCommand(rest, io);
      }
      case 'version':
      case '--version':
        io.stdout.write(`${await version()}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`, { hint: 'run `kiln help`' });
    }
  } catch (err) {
    if (json) io.stdout.write(JSON.stringify({ kiln: 'error/v1', error: isKilnError(err) ? err.toJSON() : { message: String((err as Error)?.message ?? err) } }, null, 2) + '\n');
    io.stderr.write(formatError(err) + '\n');
    if (err instanceof UsageError) io.stderr.write(USAGE);
    return isKilnError(err) ? err.exitCode : 1;
  }
}

function parse<const T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function buildCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, {
    out: { type: 'string', short: 'o' },
    'no-cache': { type: 'boolean' },
    jobs: { type: 'string', short: 'j' },
    json: { type: 'boolean' },
    'sign-key': { type: 'string' },
    'builder-id': { type: 'string' },
    locked: { type: 'boolean' },
    ...SOURCE_FLAGS,
  });
  if (positionals.length > 1) throw new UsageError(`kiln build takes one recipe, got ${positionals.length}`);
  const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) throw new UsageError(`--jobs must be a positive integer, got "${values.jobs}"`);
  const { build } = await import('../builder/index.js');
  const reporter = io.stderr.isTTY && !values.json ? createTerminalReporter(io.stderr) : createPlainReporter(io.stderr);
  const out = values.out ?? 'out';
  try {
    const summary = await build({
      recipe: positionals[0] ?? '.',
      out,
      noCache: values['no-cache'],
      locked: values.locked,
      jobs,
      reporter,
      attest: { signKey: values['sign-key'], builderId: values['builder-id'] },
      sources: sourceOptions(values),
    });
    reporter.finish();
    if (values.json) {
      io.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    } else {
      const steps = Object.values(summary.steps);
      const cached = steps.filter((s) => s.cached).length;
      io.stdout.write(`built ${summary.recipe.name}${summary.recipe.version ? ` ${summary.recipe.version}` : ''}: ${steps.length} steps (${cached} cached) in ${(summary.timings.durationMs / 1000).toFixed(1)}s\n`);
      // Artifact names are file names a step chose: escaped like every name kiln did not write.
      for (const a of summary.artifacts) io.stdout.write(`  ${escapeTerminal(a.name)}  sha256:${a.digests.sha256}  ${a.size} bytes\n`);
      const att = summary.attestations;
      if (att) {
        io.stdout.write(`  provenance + SBOM: ${att.files.join(', ')}\n`);
        if (!att.signed) io.stdout.write('  (unsigned: pass --sign-key FILE or set KILN_SIGN_KEY to sign; `kiln keygen` makes a key)\n');
      }
      io.stdout.write(`  → ${out}/ (build.json)\n`);
    }
    return 0;
  } finally {
    reporter.finish();
  }
}

async function rebuildCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, {
    key: { type: 'string', multiple: true },
    'trusted-root': { type: 'string' },
    'certificate-identity': { type: 'string' },
    'certificate-identity-regexp': { type: 'string' },
    'certificate-oidc-issuer': { type: 'string' },
    'insecure-ignore-signature': { type: 'boolean' },
    input: { type: 'string', multiple: true },
    original: { type: 'string', multiple: true },
    'sign-key': { type: 'string' },
    'rebuilder-id': { type: 'string' },
    out: { type: 'string', short: 'o' },
    'use-cache': { type: 'boolean' },
    jobs: { type: 'string', short: 'j' },
    json: { type: 'boolean' },
    ...SOURCE_FLAGS,
  });
  if (positionals.length !== 1) throw new UsageError('kiln rebuild takes one provenance file');
  const inputs: Record<string, string> = {};
  for (const pair of values.input ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--input takes NAME=PATH, got "${pair}"`);
    inputs[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) throw new UsageError(`--jobs must be a positive integer, got "${values.jobs}"`);
  const insecure = values['insecure-ignore-signature'] === true;
  const trustGiven = values.key !== undefined || values['trusted-root'] !== undefined;
  if (insecure && trustGiven) throw new UsageError('--insecure-ignore-signature skips the check that --key / --trusted-root configure: give one or the other');
  const { rebuild } = await import('../rebuild/index.js');
  const { keylessOptionsFrom, warnIfUnanchored } = await import('../verify/index.js');
  const keyless = keylessOptionsFrom(values);
  warnIfUnanchored(keyless, io);
  if (insecure) {
    io.stderr.write('kiln: WARNING: --insecure-ignore-signature: the provenance is rebuilt without checking who signed it; the verdict is reported but not signed\n');
  }
  const reporter = io.stderr.isTTY && !values.json ? createTerminalReporter(io.stderr) : createPlainReporter(io.stderr);
  try {
    const result = await rebuild({
      provenance: positionals[0]!,
      keys: values.key,
      keyless,
      ...(values['trusted-root'] !== undefined && { trustedRoot: values['trusted-root'] }),
      insecureIgnoreSignature: insecure,
      inputs,
      original: values.original,
      signKey: values['sign-key'],
      rebuilderId: values['rebuilder-id'],
      out: values.out ?? 'rebuild',
      useCache: values['use-cache'],
      jobs,
      reporter,
      sources: sourceOptions(values),
    });
    reporter.finish();
    if (values.json) {
      io.stdout.write(
        JSON.stringify({ verdict: result.verdict, provenanceVerified: result.provenanceVerified, checks: result.checks, comparison: result.comparison, vsa: result.vsa, files: result.files }, null, 2) + '\n',
      );
    } else {
      io.stdout.write(formatRebuild(result));
    }
    return result.verdict === 'PASSED' ? 0 : 1;
  } finally {
    reporter.finish();
  }
}

/** The human report of a rebuild: every string from the provenance or the build escaped. */
function formatRebuild(result: import('../rebuild/index.js').RebuildResult): string {
  const lines: string[] = [];
  const c = result.comparison;
  for (const check of result.checks.filter((x) => !x.passed)) lines.push(`✗ ${check.name}  ${check.reason}`);
  for (const a of c.artifacts) {
    lines.push(`${a.reproduced ? '✓' : '✗'} ${a.name}  ${a.reproduced ? 'identical' : `expected sha256:${a.expected.sha256 ?? '?'}, rebuilt sha256:${a.actual?.sha256 ?? '(missing)'}`}`);
  }
  if (c.firstDivergentStep) lines.push(`  the builds part at step "${c.firstDivergentStep.step}" (the first step whose output differs)`);
  const text = lines.map(escapeTerminal);
  // The diff text is kiln diff's own rendering, already escaped line by line.
  if (result.diff) text.push('', result.diff.text);
  const unverified = result.provenanceVerified ? '' : ' — UNVERIFIED PROVENANCE (--insecure-ignore-signature): this verdict is not signed and vouches for nothing';
  text.push(`${result.verdict}: ${result.verdict === 'PASSED' ? 'rebuilt bit for bit' : 'not reproduced'}${unverified}`);
  for (const f of result.files) text.push(`  ${escapeTerminal(f)}`);
  return text.join('\n') + '\n';
}

async function cacheCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, {
    json: { type: 'boolean' },
    'max-age': { type: 'string' },
    'dry-run': { type: 'boolean' },
  });
  const [sub] = positionals;
  const { createStore } = await import('../store/index.js');
  const store = await createStore();
  const emit = (value: unknown, human: string) => io.stdout.write(values.json ? JSON.stringify(value, null, 2) + '\n' : human);
  switch (sub) {
    case 'stats': {
      const s = await store.maintenance.stats();
      emit(s, `store ${s.root}\n  blobs ${s.blobs} (${s.blobBytes} bytes)\n  trees ${s.trees}\n  actions ${s.actions}\n  refs ${s.refs}\n  temp files ${s.tempFiles}\n`);
      return 0;
    }
    case 'verify': {
      const r = await store.maintenance.verify();
      emit(r, `checked ${r.checked} objects: ${r.corrupt.length} corrupt (removed), ${r.dangling.length} dangling records (removed)\n` + r.corrupt.map((d) => `  corrupt ${d}\n`).join(''));
      return r.corrupt.length > 0 ? 1 : 0;
    }
    case 'gc': {
      const days = values['max-age'] === undefined ? 30 : Number(values['max-age']);
      if (!Number.isFinite(days) || days < 0) throw new UsageError(`--max-age must be a number of days, got "${values['max-age']}"`);
      const r = await store.maintenance.gc({ maxAgeMs: days * 86_400_000, dryRun: values['dry-run'] });
      emit(r, `${values['dry-run'] ? 'would remove' : 'removed'} ${r.removedBlobs} blobs (${r.removedBytes} bytes), ${r.removedActions} action records, ${r.removedRefs} refs, ${r.removedTempFiles} temp files\n`);
      return 0;
    }
    default:
      throw new UsageError(sub === undefined ? 'kiln cache needs a subcommand: stats, verify or gc' : `unknown cache subcommand "${sub}"`);
  }
}

async function digestCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError('kiln digest takes one path');
  const { digestPath } = await import('../fetch/index.js');
  const { createStore } = await import('../store/index.js');
  const result = await digestPath(await createStore(), positionals[0]!);
  io.stdout.write(values.json ? JSON.stringify(result, null, 2) + '\n' : `${result.integrity}\n`);
  return 0;
}

async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `kiln ${pkg.version}`;
}
