import { join, relative } from 'node:path';
import type { CheckEvent, CheckResult } from '../../check/index.js';
import { UsageError } from '../../util/errors.js';
import { escapeTerminal } from '../../util/terminal.js';
import { defineCommand } from '../command.js';
import type { CliIO } from '../io.js';
import { JSON_OPTIONS, REMOTE_CONNECTION_OPTIONS, SIGN_KEY_OPTIONS, positiveInteger, remoteConnectionOptions } from '../options.js';
import { ENGINE_OPTIONS, engineOptions } from '../engine-options.js';

export const check = defineCommand({
  name: 'check',
  summary: 'build under varied conditions and name what changes the artifacts',
  positionals: [{ name: 'recipe|dir', optional: true }],
  options: {
    variations: { type: 'string', value: 'LIST', description: 'comma-separated names of the variations to try (default every one in sandbox/variations.yaml)' },
    out: { type: 'string', short: 'o', value: 'DIR', description: 'where the result, the check statement and the diff pages go (default ./check)' },
    keep: { type: 'boolean', description: 'keep every build in DIR/builds (default: removed at the end)' },
    raw: { type: 'boolean', description: "compare the steps' outputs as they wrote them, before kiln's normalization: the build script's own verdict (default: kiln's, normalized)" },
    locked: { type: 'boolean', description: 'refuse to check unless kiln.lock exists and matches the recipe, as kiln build --locked' },
    jobs: { type: 'string', short: 'j', value: 'N', description: 'builds run at once (default 2)' },
    ...SIGN_KEY_OPTIONS,
    'remote-cache': { type: 'string', value: 'URL', description: 'a shared cache (grpc[s]://host:port[/instance], default $KILN_REMOTE_CACHE) whose CAS serves pinned inputs; every step still runs, nothing goes up' },
    ...REMOTE_CONNECTION_OPTIONS,
    ...ENGINE_OPTIONS,
    ...JSON_OPTIONS,
  },
  notes: [
    'Builds twice under identical conditions and once under varied ones (sandbox/variations.yaml says what each changes), then names the variation that changes an artifact (each alone, bisection when only a combination does); "not deterministic" when even the identical builds differ.',
    'Writes <name>.check.json, a check statement (docs/predicates/check-v1.md; signed with a key) and a diff page per culprit.',
    '--engine reapi: the builds run on a Remote Execution API farm; variations it cannot apply (uid/gid, hostname, CPUs, in-memory folders) are reported unavailable.',
  ],
  exit: '0 reproducible · 1 not deterministic, or sensitive to a variation · 2 bad input or usage',
  async run({ values, positionals }, io) {
    const jobs = positiveInteger(values.jobs, '--jobs');
    const variations = values.variations === undefined ? undefined : values.variations.split(',').map((v) => v.trim()).filter(Boolean);
    if (variations !== undefined && variations.length === 0) throw new UsageError('--variations needs at least one name');
    const out = values.out ?? 'check';
    const { check } = await import('../../check/index.js');
    const report = await check({
      recipe: positionals[0] ?? '.',
      out,
      signKey: values['sign-key'],
      ...(variations && { variations }),
      ...(values.keep && { keep: join(out, 'builds') }),
      ...(values.locked && { locked: true }),
      ...(values.raw && { raw: true }),
      jobs,
      engineChoice: engineOptions(values),
      reporter: values.json ? undefined : progress(io),
      remoteCache: { ...(values['remote-cache'] !== undefined && { endpoint: values['remote-cache'] }), connection: remoteConnectionOptions(values) },
    });
    if (values.json) io.stdout.write(JSON.stringify({ ...report.result, files: report.files }, null, 2) + '\n');
    else io.stdout.write(formatCheck(report.result, report.files.map((f) => relative('.', f) || f), report.signed));
    return report.result.verdict === 'reproducible' ? 0 : 1;
  },
});

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
