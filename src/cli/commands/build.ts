import type { BuildSummary } from '../../builder/index.js';
import { escapeTerminal } from '../../util/terminal.js';
import { defineCommand } from '../command.js';
import { JOBS_OPTIONS, JSON_OPTIONS, REMOTE_CACHE_OPTIONS, SIGN_KEY_OPTIONS, SOURCE_OPTIONS, positiveInteger, remoteCacheOptions, sourceOptions } from '../options.js';
import { ENGINE_OPTIONS, engineOptions } from '../engine-options.js';
import { createPlainReporter, createTerminalReporter } from '../render.js';

export const build = defineCommand({
  name: 'build',
  summary: 'build a recipe in the sandbox: artifacts, build.json, provenance, SBOM',
  positionals: [{ name: 'recipe|dir', optional: true }],
  options: {
    out: { type: 'string', short: 'o', value: 'DIR', description: 'where the artifacts, build.json and the attestations go (default ./out)' },
    'no-cache': { type: 'boolean', description: 'run every step, even those whose action key is in the cache' },
    locked: { type: 'boolean', description: 'refuse to build unless kiln.lock exists and matches the recipe (CI: no silent re-resolution)' },
    ...JOBS_OPTIONS,
    ...SIGN_KEY_OPTIONS,
    'builder-id': { type: 'string', value: 'ID', description: 'the builder id the provenance names (runDetails.builder.id; default https://kiln.example.org/builders/local/v1)' },
    ...SOURCE_OPTIONS,
    ...REMOTE_CACHE_OPTIONS,
    ...ENGINE_OPTIONS,
    ...JSON_OPTIONS,
  },
  notes: [
    'recipe: a kiln.yaml, or a folder holding one (default: the current folder).',
    'Fetches every input (store, mirrors, upstream, snapshot: docs/mirrors.md), runs the steps (independent ones in parallel), and exports the artifacts, build.json, the provenance and the SBOM to --out. A step whose action key is in the cache does not run.',
    '--engine reapi: each step runs on a Remote Execution API farm (privileged actions, a debian image\'s assembly, stay local); the provenance names each step\'s worker and Action digest (docs/remote-execution.md).',
  ],
  exit: '0 built · 1 a step failed (the message names it and shows the end of its log) · 2 bad input or usage',
  async run({ values, positionals }, io) {
    const jobs = positiveInteger(values.jobs, '--jobs');
    const engineChoice = engineOptions(values);
    const { build } = await import('../../builder/index.js');
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
        engineChoice,
        remoteCache: remoteCacheOptions(values),
      });
      reporter.finish();
      io.stdout.write(values.json ? JSON.stringify(summary, null, 2) + '\n' : formatBuild(summary, out));
      return 0;
    } finally {
      reporter.finish();
    }
  },
});

/** The human summary of a build. */
function formatBuild(summary: BuildSummary, out: string): string {
  const steps = Object.values(summary.steps);
  const cached = steps.filter((s) => s.cached).length;
  const remote = steps.filter((s) => s.origin).length;
  let text = `built ${summary.recipe.name}${summary.recipe.version ? ` ${summary.recipe.version}` : ''}: ${steps.length} steps (${cached} cached${remote ? `, ${remote} from the remote cache` : ''}) in ${(summary.timings.durationMs / 1000).toFixed(1)}s\n`;
  // Artifact names are file names a step chose: escaped like every name kiln did not write.
  for (const a of summary.artifacts) text += `  ${escapeTerminal(a.name)}  sha256:${a.digests.sha256}  ${a.size} bytes\n`;
  const att = summary.attestations;
  if (att) {
    text += `  provenance + SBOM: ${att.files.join(', ')}\n`;
    if (!att.signed) text += '  (unsigned: pass --sign-key FILE or set KILN_SIGN_KEY to sign; `kiln keygen` makes a key)\n';
  }
  return text + `  → ${out}/ (build.json)\n`;
}
