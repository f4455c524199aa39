import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliIO } from '../cli/main.js';
import { UsageError } from '../util/errors.js';
import { kilnVersion } from '../util/package.js';
import { escapeTerminal } from '../util/terminal.js';
import { check, type CheckEvent, type CheckResult } from './check.js';
import { diffCheck, writeCheckFiles } from './report.js';

export const CHECK_USAGE = 'kiln check [recipe|dir] [--variations LIST] [--raw] [--locked] [--out DIR] [--keep] [--jobs N] [--sign-key FILE] [--json]';

/**
 * `kiln check`: resolves to 0 when the build reproduces under every variation tried, 1 when
 * it does not (not deterministic, or sensitive to a variation). Bad usage and bad input throw
 * (exit 2); a control build whose step fails throws the build's error.
 */
export async function runCheckCommand(args: string[], io: CliIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        variations: { type: 'string' },
        out: { type: 'string', short: 'o' },
        keep: { type: 'boolean' },
        locked: { type: 'boolean' },
        raw: { type: 'boolean' },
        jobs: { type: 'string', short: 'j' },
        'sign-key': { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message, { hint: CHECK_USAGE });
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`kiln check takes one recipe, got ${positionals.length}`, { hint: CHECK_USAGE });
  const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) throw new UsageError(`--jobs must be a positive integer, got "${values.jobs}"`, { hint: CHECK_USAGE });
  const variations = values.variations === undefined ? undefined : values.variations.split(',').map((v) => v.trim()).filter(Boolean);
  if (variations !== undefined && variations.length === 0) throw new UsageError('--variations needs at least one name', { hint: CHECK_USAGE });
  const out = values.out ?? 'check';
  if (values['sign-key'] !== undefined) {
    // A bad key is bad input: refused before any build.
    const { readSigner } = await import('../attest/index.js');
    await readSigner(values['sign-key']);
  }

  const run = await check({
    recipe: positionals[0] ?? '.',
    ...(variations && { variations }),
    ...(values.keep && { keep: join(out, 'builds') }),
    ...(values.locked && { locked: true }),
    ...(values.raw && { raw: true }),
    jobs,
    reporter: values.json ? undefined : progress(io),
  });
  try {
    const pages = await diffCheck(run);
    const written = await writeCheckFiles(out, run, pages, { signKey: values['sign-key'], kilnVersion: kilnVersion() });
    if (values.json) io.stdout.write(JSON.stringify({ ...run.result, files: written.files }, null, 2) + '\n');
    else io.stdout.write(formatCheck(run.result, written.files.map((f) => relative('.', f) || f), written.signed));
    return run.result.verdict === 'reproducible' ? 0 : 1;
  } finally {
    await run.cleanup();
  }
}

function progress(io: CliIO): (e: CheckEvent) => void {
  return (e) => {
    if (e.type === 'phase') io.stderr.write(`check: ${e.phase}\n`);
    else if (e.type === 'build-done') io.stderr.write(`  ${e.ok ? 'built' : 'failed'} ${e.label} in ${(e.durationMs / 1000).toFixed(1)}s${e.reused ? ` (${e.reused} steps reused)` : ''}\n`);
  };
}

/** Pure: the terminal summary. */
export function formatCheck(result: CheckResult, files: string[], signed: boolean): string {
  const lines: string[] = [];
  const sensitive = result.culprits.map((c) => c.variations.join(' + '));
  const head =
    result.verdict === 'reproducible'
      ? `reproducible: ${result.recipe.name} builds bit for bit under every variation tried`
      : result.verdict === 'not-deterministic'
        ? `not deterministic: two builds of ${result.recipe.name} under identical conditions differ (${result.controls.differing.join(', ')})`
        : `sensitive to ${sensitive.join(', ') || 'an unexplained variation'}: ${result.recipe.name} does not reproduce under them`;
  lines.push(head);
  lines.push(result.mode === 'raw'
    ? '  mode: raw — outputs compared as the steps wrote them, before kiln\'s normalization (the build script\'s own verdict)'
    : '  mode: normalized — outputs compared as kiln keeps them (a kiln rebuilder\'s verdict; --raw judges the build script on its own)');
  for (const n of result.controls.differing) lines.push(`  ✗ ${n} differs between the controls${memberText(result.controls.members?.[n])}`);
  for (const v of result.variations) {
    const mark = v.verdict === 'same' ? '✓' : v.verdict === 'skipped' ? '-' : '✗';
    const what = v.verdict === 'skipped' ? `skipped: ${v.reason ?? ''}` : v.verdict === 'same' ? 'same' : `changes ${v.differing.join(', ') || '(the build fails)'}${v.error ? ` — ${v.error.message}` : ''}`;
    lines.push(`  ${mark} ${v.name.padEnd(13)} ${what}${v.method ? ` [${v.method}]` : ''}`);
    if (v.methodDetail && v.verdict !== 'skipped') lines.push(`      (${v.methodDetail})`);
    for (const n of v.differing) if (v.members?.[n]?.length) lines.push(`      ${n}:${memberText(v.members[n])}`);
  }
  for (const c of result.culprits.filter((x) => x.variations.length > 1)) lines.push(`  ✗ together ${c.variations.join(' + ')} change ${c.artifacts.join(', ')}`);
  if (result.unexplained.length > 0) lines.push(`  ? unexplained: ${result.unexplained.join(', ')}`);
  lines.push(`  ${result.builds} builds in ${(result.timings.durationMs / 1000).toFixed(1)}s${signed ? '' : ' (statement unsigned: pass --sign-key FILE or set KILN_SIGN_KEY)'}`);
  for (const f of files) lines.push(`  ${f}`);
  // Artifact and archive member names come from the build's output: escaped, every line.
  return lines.map(escapeTerminal).join('\n') + '\n';
}

function memberText(members: string[] | undefined): string {
  if (!members || members.length === 0) return '';
  const shown = members.slice(0, 5).join(', ');
  return ` ${shown}${members.length > 5 ? ` (+${members.length - 5} more)` : ''}`;
}
