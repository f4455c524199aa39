import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { kilnVersion } from '../util/package.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import type { DiffReport, DiffSummary } from '../diff/index.js';
import type { Statement } from '../attest/index.js';
import { runCheck, type CheckBuild, type CheckOptions, type CheckResult, type CheckRun } from './check.js';

export interface CheckReportOptions extends CheckOptions {
  /** Where the result, the check statement and the diff pages go (`<name>.check.*`). */
  out: string;
  /** Signs the check statement (PKCS#8 PEM file); default $KILN_SIGN_KEY; none: unsigned. */
  signKey?: string;
}

/** A check as `kiln check` reports it: the result (with the differing members filled in) and the files written. */
export interface CheckReport {
  result: CheckResult;
  files: string[];
  signed: boolean;
}

/**
 * `kiln check` as one call: runs the check (runCheck), diffs what differs (diffCheck) and
 * writes the result, the statement and the diff pages into `out` (writeCheckFiles); the
 * builds' temp folders are removed at the end. The signing key is read first: a bad key is
 * bad input, refused before any build.
 */
export async function check(options: CheckReportOptions): Promise<CheckReport> {
  const { out, signKey, ...checkOptions } = options;
  const attest = await import('../attest/index.js');
  const keyFile = attest.resolveSignKey(signKey);
  if (keyFile !== undefined) await attest.readSigner(keyFile);
  const run = await runCheck(checkOptions);
  try {
    const pages = await diffCheck(run);
    const written = await writeCheckFiles(out, run, pages, { signKey, kilnVersion: kilnVersion() });
    return { result: run.result, ...written };
  } finally {
    await run.cleanup();
  }
}

export const PREDICATE_KILN_CHECK_V1 = 'https://kiln.example.org/predicates/check/v1';

/** What changed inside one differing artifact, from `kiln diff`. */
export interface ArtifactDiff {
  artifact: string;
  /** Members (nesting path joined by " / ") that differ; empty when the artifact is one plain file. */
  members: string[];
  /** Differences by class (only the classes present). */
  classes: Partial<DiffSummary>;
  /** Why no diff is shown (a build failed, an artifact is missing). */
  note?: string;
}

/** A diff page: controls against each other, or a culprit's build against the control. */
export interface CheckDiff {
  /** `nondeterministic`, or the culprit's variations joined with "+". */
  key: string;
  title: string;
  artifacts: ArtifactDiff[];
  reports: Array<{ artifact: string; report: DiffReport }>;
}

/** The check predicate (docs/predicates/check-v1.md). */
export interface CheckPredicate {
  recipe: { name: string; version?: string; digest: Digest };
  /** `normalized`: the outputs kiln keeps were compared; `raw`: the outputs as the steps wrote them. */
  mode: CheckResult['mode'];
  verdict: CheckResult['verdict'];
  controls: { identical: boolean; differing: string[] };
  variationSet: { digest: Digest };
  sandboxProfile: Digest;
  variations: Array<{ name: string; supported: boolean; verdict: string; differing: string[]; reason?: string; method?: string; methodDetail?: string }>;
  culprits: Array<{ variations: string[]; artifacts: string[] }>;
  unexplained: string[];
  checker: { kilnVersion: string };
  startedOn: string;
  finishedOn: string;
}
type Digest = CheckResult['sandboxProfile'];

/** Pure: the in-toto statement of a check; its subjects are the control build's artifacts. */
export function toCheckStatement(result: CheckResult, subjects: Statement['subject'], kilnVersion: string): Statement<CheckPredicate> {
  const predicate: CheckPredicate = {
    recipe: { name: result.recipe.name, ...(result.recipe.version !== undefined && { version: result.recipe.version }), digest: result.recipe.digest },
    mode: result.mode,
    verdict: result.verdict,
    controls: { identical: result.controls.identical, differing: result.controls.differing },
    variationSet: { digest: result.variationSet.digest },
    sandboxProfile: result.sandboxProfile,
    variations: result.variations.map((v) => ({
      name: v.name, supported: v.supported, verdict: v.verdict, differing: v.differing,
      ...(v.reason !== undefined && { reason: v.reason }),
      ...(v.method !== undefined && { method: v.method }),
      ...(v.methodDetail !== undefined && { methodDetail: v.methodDetail }),
    })),
    culprits: result.culprits.map((c) => ({ variations: c.variations, artifacts: c.artifacts })),
    unexplained: result.unexplained,
    checker: { kilnVersion },
    startedOn: result.timings.startedOn,
    finishedOn: result.timings.finishedOn,
  };
  return { _type: 'https://in-toto.io/Statement/v1', subject: subjects, predicateType: PREDICATE_KILN_CHECK_V1, predicate };
}

/**
 * Diffs what differs, through `kiln diff`: the two controls (when they differ) and each
 * culprit's build against the control. Fills `members` into the result's variations and
 * culprits (so --json names them) and returns the reports for the HTML pages.
 */
export async function diffCheck(run: CheckRun): Promise<CheckDiff[]> {
  const { result, builds } = run;
  const pages: CheckDiff[] = [];
  if (result.controls.differing.length > 0) {
    pages.push(await diffBuilds('nondeterministic', 'the two control builds differ: the build is not deterministic', builds.get('control-1')!, builds.get('control-2')!, result.controls.differing));
  }
  for (const culprit of result.culprits) {
    const key = culprit.variations.join('+');
    const page = await diffBuilds(key, `changed by ${culprit.variations.join(' + ')}`, builds.get(culprit.against)!, builds.get(culprit.build)!, culprit.artifacts);
    culprit.members = Object.fromEntries(page.artifacts.map((a) => [a.artifact, a.members]));
    culprit.classes = Object.fromEntries(page.artifacts.map((a) => [a.artifact, a.classes]));
    if (culprit.variations.length === 1) {
      const v = result.variations.find((x) => x.name === culprit.variations[0]);
      if (v) v.members = culprit.members;
    }
    pages.push(page);
  }
  if (result.controls.differing.length > 0) result.controls.members = Object.fromEntries(pages[0]!.artifacts.map((a) => [a.artifact, a.members]));
  return pages;
}

async function diffBuilds(key: string, title: string, a: CheckBuild, b: CheckBuild, artifacts: string[]): Promise<CheckDiff> {
  const { diffPaths } = await import('../diff/index.js');
  const page: CheckDiff = { key, title, artifacts: [], reports: [] };
  for (const artifact of artifacts) {
    const [pa, pb] = [join(a.dir, artifact), join(b.dir, artifact)];
    if (!a.summary || !b.summary || !existsSync(pa) || !existsSync(pb)) {
      const failed = !b.summary ? b : !a.summary ? a : undefined;
      page.artifacts.push({ artifact, members: [], classes: {}, note: failed ? `build ${failed.label} failed: ${failed.error?.message ?? ''}` : `only one build produced ${artifact}` });
      continue;
    }
    const report = await diffPaths(pa, pb);
    const members = [...new Set(report.differences.map((d) => d.path.join(' / ')).filter((m) => m !== ''))].slice(0, 100);
    const classes = Object.fromEntries(Object.entries(report.summary).filter(([, n]) => n > 0)) as Partial<DiffSummary>;
    page.artifacts.push({ artifact, members, classes });
    page.reports.push({ artifact, report });
  }
  return page;
}

/** Options of `writeCheckFiles`. */
export interface WriteCheckOptions {
  /** PKCS#8 PEM signing key; default $KILN_SIGN_KEY; none: an unsigned statement. */
  signKey?: string;
  kilnVersion: string;
}

/**
 * Writes into `out`: `<name>.check.json` (the result), the statement (signed:
 * `<name>.check.intoto.jsonl`; unsigned: `<name>.check.statement.json`), and one
 * `<name>.check.<key>.diff.html` per diff page. Each file whole, then renamed into place;
 * the file of the other signing mode left by an earlier run is removed.
 */
export async function writeCheckFiles(out: string, run: CheckRun, pages: CheckDiff[], options: WriteCheckOptions): Promise<{ files: string[]; signed: boolean }> {
  const attest = await import('../attest/index.js');
  const { toHtml } = await import('../diff/index.js');
  const { result } = run;
  const name = result.recipe.name;
  const files: string[] = [];
  await mkdir(out, { recursive: true });
  const control = run.builds.get('control-1')!.summary!;
  const subjects = control.artifacts.map((a) => ({ name: a.name, digest: { sha256: a.digests.sha256, sha512: a.digests.sha512 } }));
  const statement = toCheckStatement(result, subjects, options.kilnVersion);
  const keyFile = attest.resolveSignKey(options.signKey);
  const signedFile = join(out, `${name}.check.intoto.jsonl`);
  const unsignedFile = join(out, `${name}.check.statement.json`);
  if (keyFile !== undefined) {
    const signer = await attest.readSigner(keyFile);
    const envelope = attest.signEnvelope(attest.statementBytes(statement), attest.PAYLOAD_TYPE_INTOTO, [signer]);
    await writeFileAtomic(signedFile, attest.envelopeToJSON(envelope) + '\n');
    await rm(unsignedFile, { force: true });
    files.push(signedFile);
  } else {
    const unsigned = {
      kiln: attest.UNSIGNED_STATEMENTS_FORMAT,
      signed: false,
      note: 'not signed: no signing key was given (--sign-key or KILN_SIGN_KEY); nothing here is authenticated',
      statements: [statement],
    };
    await writeFileAtomic(unsignedFile, JSON.stringify(unsigned, null, 2) + '\n');
    await rm(signedFile, { force: true });
    files.push(unsignedFile);
  }
  for (const page of pages) {
    const file = join(out, `${name}.check.${page.key}.diff.html`);
    await writeFileAtomic(file, checkHtml(`kiln check: ${name}: ${page.title}`, page, toHtml));
    files.push(file);
  }
  const json = join(out, `${name}.check.json`);
  await writeFileAtomic(json, JSON.stringify(result, null, 2) + '\n');
  files.unshift(json);
  return { files, signed: keyFile !== undefined };
}

const escapeHtml = (t: string) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** One self-contained page; each `kiln diff` report in a sandboxed frame, so no markup from an artifact can act. */
function checkHtml(title: string, page: CheckDiff, toHtml: (r: DiffReport) => string): string {
  const rows = page.artifacts
    .map((a) => `<tr><td>${escapeHtml(a.artifact)}</td><td>${escapeHtml(Object.entries(a.classes).map(([k, n]) => `${k} ${n}`).join(', ') || a.note || '')}</td><td>${a.members.slice(0, 20).map((m) => `<code>${escapeHtml(m)}</code>`).join('<br>')}</td></tr>`)
    .join('');
  const body = page.reports.map((r) => `<h2>${escapeHtml(r.artifact)}</h2><iframe sandbox="" srcdoc="${escapeHtml(toHtml(r.report))}"></iframe>`).join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:80em}code{font-size:12px}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}iframe{width:100%;height:40em;border:1px solid #ccc}</style></head><body>
<h1>${escapeHtml(title)}</h1>
<table><tr><th>artifact</th><th>differences</th><th>members</th></tr>${rows}</table>
${body}
</body></html>
`;
}

