import type { RebuildResult } from '../../rebuild/index.js';
import { UsageError } from '../../util/errors.js';
import { escapeTerminal } from '../../util/terminal.js';
import { defineCommand } from '../command.js';
import { JOBS_OPTIONS, JSON_OPTIONS, KEYLESS_OPTIONS, REMOTE_CACHE_OPTIONS, SIGN_KEY_OPTIONS, SOURCE_OPTIONS, keylessOptions, positiveInteger, remoteCacheOptions, sourceOptions, warnIfUnanchored } from '../options.js';
import { ENGINE_OPTIONS, engineOptions } from '../engine-options.js';
import { createPlainReporter, createTerminalReporter } from '../render.js';

export const rebuild = defineCommand({
  name: 'rebuild',
  summary: 'rebuild from a provenance, compare bit for bit, write the verdict (VSA)',
  positionals: [{ name: 'provenance' }],
  options: {
    key: { type: 'string', multiple: true, value: 'PUB', description: 'a trusted public key: the provenance must be signed by one of them (repeatable)' },
    ...KEYLESS_OPTIONS,
    'insecure-ignore-signature': { type: 'boolean', description: 'rebuild a provenance nobody verified: warns, and signs nothing (the VSA is written unsigned and marked)' },
    input: { type: 'string', multiple: true, value: 'NAME=PATH', description: 'a local `path` input, which the provenance records by digest only (repeatable)' },
    original: { type: 'string', multiple: true, value: 'DIR|FILE', description: "the original artifacts to diff against on a mismatch (default the provenance's folder)" },
    ...SIGN_KEY_OPTIONS,
    'rebuilder-id': { type: 'string', value: 'ID', description: 'the rebuilder id the VSA names (default https://kiln.example.org/rebuilders/local/v1)' },
    out: { type: 'string', short: 'o', value: 'DIR', description: 'where the rebuilt artifacts, the provenance, the VSA and diff reports go (default ./rebuild)' },
    'use-cache': { type: 'boolean', description: "trust the local action cache (default: every step runs fresh; a rebuilder must not trust the original builder's cache)" },
    ...JOBS_OPTIONS,
    ...SOURCE_OPTIONS,
    ...REMOTE_CACHE_OPTIONS,
    // A rebuild reads no $KILN_REMOTE_CACHE, $KILN_CACHE_TRUST or $KILN_CACHE_SIGN_KEY: only these flags.
    'remote-cache': { ...REMOTE_CACHE_OPTIONS['remote-cache'], description: 'a shared cache: grpc[s]://host:port[/instance] of a REAPI CAS and action cache (the environment is not read)' },
    'cache-trust': { ...REMOTE_CACHE_OPTIONS['cache-trust'], description: 'a public key whose signed cache entries --use-cache may use (repeatable); others are refused and the step runs' },
    'cache-sign-key': { ...REMOTE_CACHE_OPTIONS['cache-sign-key'], description: 'sign uploaded cache entries with this PKCS#8 PEM key (default the --sign-key)' },
    ...ENGINE_OPTIONS,
    ...JSON_OPTIONS,
  },
  notes: [
    'trust: --key PUB…, or --trusted-root FILE with --certificate-identity (or -regexp) and --certificate-oidc-issuer, or --insecure-ignore-signature.',
    'The provenance is verified as `kiln verify` does, then the embedded recipe is rebuilt from the recorded inputs and each subject compared with the rebuilt artifact.',
    '--engine reapi: the steps run on a Remote Execution API farm; the VSA names it (verifier.version.engine).',
    'shared cache: only with --remote-cache (never $KILN_REMOTE_CACHE): its CAS serves inputs and results go up; its entries are used only with --use-cache, and only those a --cache-trust key signed (or all with --trust-remote-cache).',
  ],
  exit: '0 reproduced · 1 not reproduced, or the provenance refused · 2 bad input or usage',
  async run({ values, positionals }, io) {
    const inputs: Record<string, string> = {};
    for (const pair of values.input ?? []) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`--input takes NAME=PATH, got "${pair}"`);
      inputs[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    const jobs = positiveInteger(values.jobs, '--jobs');
    const engineChoice = engineOptions(values);
    const insecure = values['insecure-ignore-signature'] === true;
    const keyless = keylessOptions(values);
    const { rebuild } = await import('../../rebuild/index.js');
    await warnIfUnanchored(keyless, io);
    if (insecure && values.key === undefined && values['trusted-root'] === undefined) {
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
        engineChoice,
        remoteCache: remoteCacheOptions(values),
      });
      reporter.finish();
      if (values.json) {
        const { verdict, provenanceVerified, checks, comparison, vsa, files } = result;
        io.stdout.write(JSON.stringify({ verdict, provenanceVerified, checks, comparison, vsa, files }, null, 2) + '\n');
      } else {
        io.stdout.write(formatRebuild(result));
      }
      return result.verdict === 'PASSED' ? 0 : 1;
    } finally {
      reporter.finish();
    }
  },
});

/** The human report of a rebuild: every string from the provenance or the build escaped. */
function formatRebuild(result: RebuildResult): string {
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
