import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { BuildReporter, BuildSummary } from '../build/index.js';
import { build } from '../build/index.js';
import type { Recipe } from '../recipe/index.js';
import { parseRecipe, topologicalOrder } from '../recipe/index.js';
import type { Engine } from '../sandbox/types.js';
import { createStore, type Store } from '../store/index.js';
import { kilnVersion } from '../util/package.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import { compareRebuild, type RebuildComparison } from './compare.js';
import { RebuildError } from './errors.js';
import { buildVsa, type VsaPredicate } from './vsa.js';
import type { Statement } from '../attest/index.js';

export const DEFAULT_REBUILDER_ID = 'https://kiln.example.org/rebuilders/local/v1';

export interface RebuildOptions {
  /** The provenance: a `.intoto.jsonl`, a DSSE envelope, or a Sigstore bundle. */
  provenance: string;
  /** Public keys (PEM files): when given, the provenance must be signed by one of them. */
  keys?: string[];
  /** Local `path` inputs, by name: the provenance records their digests, not their bytes. */
  inputs?: Record<string, string>;
  /** The original artifacts to diff against on a mismatch: a folder or files; default the provenance's folder. */
  original?: string[];
  /** Signs the VSA and the rebuilder's own provenance (PKCS#8 PEM file; default $KILN_SIGN_KEY). */
  signKey?: string;
  rebuilderId?: string;
  out?: string;
  /** Trust the local action cache (default false: a rebuilder must not trust the original builder's cache). */
  useCache?: boolean;
  jobs?: number;
  store?: Store;
  engine?: Engine;
  reporter?: BuildReporter;
}

export interface RebuildResult {
  verdict: 'PASSED' | 'FAILED';
  comparison: RebuildComparison;
  summary: BuildSummary;
  /** Files written into `out`: rebuilt artifacts, build.json, provenance, VSA, diff reports. */
  files: string[];
  /** Set on FAILED when a diff report was written. */
  diff?: { json: string; html: string; text: string };
}

/**
 * Rebuilds from someone's provenance alone and compares bit for bit. Everything that can be
 * checked before a step runs is: the signature (when keys are given), the embedded recipe
 * against its digest, every resolved dependency against the recipe's pins, and the inputs'
 * bytes against both (while fetching). Then a fresh build without the action cache, a
 * comparison artifact by artifact and step by step, a VSA, and on FAILED a diff report.
 */
export async function rebuild(options: RebuildOptions): Promise<RebuildResult> {
  const attest = await import('../attest/index.js');
  const verify = await import('../verify/index.js');
  const provenanceFile = resolve(options.provenance);
  const provenanceBytes = await readFile(provenanceFile).catch((err: NodeJS.ErrnoException) => {
    throw new RebuildError('KILN_REBUILD_BAD_PROVENANCE', `cannot read ${options.provenance}: ${err.code ?? err.message}`, { cause: err, where: { file: options.provenance } });
  });
  const attestation = verify.parseAttestationFile(provenanceBytes.toString('utf8'), options.provenance);
  const envelopes = attestation.kind === 'dsse' ? attestation.envelopes : [attestation.envelope];

  // The provenance envelope: the first whose statement is SLSA provenance of kiln's buildType.
  let found: { envelope: (typeof envelopes)[number]; provenance: ReturnType<typeof attest.provenanceFromStatement> } | undefined;
  let lastError: unknown;
  for (const envelope of envelopes) {
    let statement: Statement;
    try {
      statement = attest.statementFromPayload(attest.decodePayload(envelope));
    } catch (err) {
      lastError = err;
      continue;
    }
    if (statement.predicateType !== attest.PREDICATE_SLSA_PROVENANCE_V1) continue;
    // A recipe that does not match its digest is refused here, before anything runs.
    found = { envelope, provenance: attest.provenanceFromStatement(statement) };
    break;
  }
  if (!found) {
    throw new RebuildError('KILN_REBUILD_BAD_PROVENANCE', `${options.provenance} holds no kiln SLSA provenance`, { cause: lastError, where: { file: options.provenance } });
  }
  const { envelope, provenance } = found;

  if (options.keys?.length) {
    const keys = await Promise.all(options.keys.map((k) => attest.readTrustedKey(k)));
    const { validKeyids } = attest.verifyEnvelopeSignatures(envelope, keys);
    if (validKeyids.length === 0) {
      throw new RebuildError('KILN_REBUILD_UNTRUSTED', `the provenance is not signed by any of the given keys (${options.keys.join(', ')})`, {
        where: { file: options.provenance },
        hint: 'rebuild only provenance you can attribute: pass the builder\'s public key with --key',
      });
    }
  }

  const workDir = await mkdtemp(join(tmpdir(), 'kiln-rebuild-'));
  try {
    const recipeFile = join(workDir, basename(provenance.recipe.path) || 'kiln.yaml');
    let recipe: Recipe;
    if (provenance.recipe.lock) {
      // The original build filled unpinned inputs from its kiln.lock: the provenance carries it.
      const { applyLock, parseLock } = await import('../lock/index.js');
      const lockFile = join(workDir, basename(provenance.recipe.lock.path) || 'kiln.lock');
      const lockText = provenance.recipe.lock.content;
      recipe = applyLock(parseRecipe(provenance.recipe.content, recipeFile, { allowUnpinned: true }), { file: lockFile, text: lockText, lock: parseLock(lockText, lockFile) });
    } else {
      recipe = parseRecipe(provenance.recipe.content, recipeFile);
    }
    supplyPathInputs(recipe, options.inputs ?? {}, options.provenance);
    assertDependenciesMatchRecipe(recipe, provenance.inputs, options.provenance);

    const out = resolve(options.out ?? 'rebuild');
    const store = options.store ?? (await createStore());
    const summary = await build({
      recipe,
      out,
      store,
      engine: options.engine,
      noCache: !options.useCache,
      // Local inputs come only through --input: the recipe's own file: URLs are refused.
      allowFileUrls: false,
      jobs: options.jobs,
      reporter: options.reporter,
      attest: { signKey: options.signKey, builderId: options.rebuilderId ?? DEFAULT_REBUILDER_ID, overrides: { rebuildOf: provenance.metadata.invocationId ?? provenanceFile } },
    });

    const expected = {
      subjects: Object.fromEntries(provenance.subjects.map((s) => [s.name, s.digest])),
      stepOutputs: Object.fromEntries(provenance.steps.map((s) => [s.name, s.outputTree.slice('sha256:'.length)])),
    };
    const comparison = compareRebuild(expected, summary, topologicalOrder(recipe));
    const verdict = comparison.reproduced ? 'PASSED' : 'FAILED';
    const name = summary.recipe.name;
    const files = [...summary.artifacts.map((a) => join(out, a.name)), join(out, 'build.json'), ...(summary.attestations?.files ?? []).map((f) => join(out, f))];

    const vsa = buildVsa({
      subjects: provenance.subjects,
      verifierId: options.rebuilderId ?? DEFAULT_REBUILDER_ID,
      kilnVersion: kilnVersion(),
      resourceUri: `pkg:generic/${encodeURIComponent(name)}${summary.recipe.version ? `@${encodeURIComponent(summary.recipe.version)}` : ''}`,
      provenance: { uri: basename(provenanceFile), sha256: createHash('sha256').update(provenanceBytes).digest('hex') },
      reproduced: comparison.reproduced,
      timeVerified: summary.timings.finishedOn,
    });
    files.push(await writeVsa(out, name, vsa, options.signKey));

    let diff: RebuildResult['diff'];
    if (!comparison.reproduced) {
      diff = await writeDiffReport({ out, name, comparison, summary, store, originals: options.original ?? [dirname(provenanceFile)], workDir });
      files.push(diff.json, diff.html);
    }
    return { verdict, comparison, summary, files, ...(diff && { diff }) };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** `path` inputs are not in the provenance: the rebuilder supplies them, and their digests are checked on fetch. */
function supplyPathInputs(recipe: Recipe, supplied: Record<string, string>, source: string): void {
  for (const [name, path] of Object.entries(supplied)) {
    const spec = recipe.inputs[name];
    if (!spec) throw new RebuildError('KILN_REBUILD_UNKNOWN_INPUT', `--input ${name}=…: the recipe has no input "${name}"`, { where: { file: source } });
    if (spec.kind !== 'path') throw new RebuildError('KILN_REBUILD_UNKNOWN_INPUT', `--input ${name}=…: input "${name}" is a ${spec.kind} input, fetched by itself`, { where: { file: source } });
    spec.path = resolve(path);
  }
  for (const spec of Object.values(recipe.inputs)) {
    if (spec.kind === 'path' && !(spec.name in supplied)) {
      throw new RebuildError('KILN_REBUILD_MISSING_INPUT', `input "${spec.name}" is a local path (${spec.path}) in the original build: supply it with --input ${spec.name}=<path>`, {
        where: { file: source },
        hint: `its bytes must match ${spec.integrity}`,
      });
    }
  }
}

/**
 * The provenance lists each input's digest; the embedded recipe pins each input's integrity.
 * They must agree on every algorithm both name, or the provenance contradicts itself.
 */
function assertDependenciesMatchRecipe(recipe: Recipe, inputs: Array<{ name: string; digest: Record<string, string> }>, source: string): void {
  const byName = new Map(inputs.map((i) => [i.name, i]));
  for (const spec of Object.values(recipe.inputs)) {
    const dep = byName.get(spec.name);
    if (!dep) throw new RebuildError('KILN_REBUILD_DEPENDENCY_MISMATCH', `input "${spec.name}" is missing from the provenance's resolvedDependencies`, { where: { file: source } });
    for (const entry of spec.integrity.trim().split(/\s+/)) {
      const dash = entry.indexOf('-');
      const alg = entry.slice(0, dash);
      const hex = Buffer.from(entry.slice(dash + 1), 'base64').toString('hex');
      const recorded = dep.digest[alg];
      if (recorded !== undefined && recorded !== hex) {
        throw new RebuildError('KILN_REBUILD_DEPENDENCY_MISMATCH', `input "${spec.name}": the provenance records ${alg}:${recorded} but the recipe pins ${alg}:${hex}`, {
          where: { file: source },
          expected: hex,
          found: recorded,
        });
      }
    }
  }
}

async function writeVsa(out: string, name: string, vsa: Statement<VsaPredicate>, signKey: string | undefined): Promise<string> {
  const attest = await import('../attest/index.js');
  const keyFile = attest.resolveSignKey(signKey);
  await mkdir(out, { recursive: true });
  const signed = keyFile !== undefined;
  const file = join(out, signed ? `${name}.vsa.intoto.jsonl` : `${name}.vsa.statement.json`);
  const text = signed
    ? attest.envelopeToJSON(attest.signEnvelope(Buffer.from(JSON.stringify(vsa)), attest.PAYLOAD_TYPE_INTOTO, [await attest.readSigner(keyFile)])) + '\n'
    : JSON.stringify({ signed: false, statement: vsa }, null, 2) + '\n';
  await writeFileAtomic(file, text);
  return file;
}

interface DiffReportInput {
  out: string;
  name: string;
  comparison: RebuildComparison;
  summary: BuildSummary;
  store: Store;
  originals: string[];
  workDir: string;
}

/**
 * On FAILED: diffs each differing artifact against the original (when the original bytes are
 * at hand) and the first divergent step's output trees (when the original tree is in the
 * store), into `<name>.diff.json` and one self-contained `<name>.diff.html`.
 */
async function writeDiffReport(input: DiffReportInput): Promise<{ json: string; html: string; text: string }> {
  const diff = await import('../diff/index.js');
  const archive = await import('../archive/index.js');
  const sections: Array<{ title: string; report?: Awaited<ReturnType<typeof diff.diffPaths>>; note?: string }> = [];

  for (const a of input.comparison.artifacts.filter((x) => !x.reproduced)) {
    const original = findOriginal(input.originals, a.name);
    const rebuilt = join(input.out, a.name);
    if (!original || !existsSync(rebuilt)) {
      sections.push({ title: `artifact ${a.name}`, note: original ? 'the rebuild did not produce it' : 'the original artifact is not at hand: pass --original <dir|file>' });
      continue;
    }
    sections.push({ title: `artifact ${a.name}`, report: await diff.diffPaths(original, rebuilt) });
  }

  const step = input.comparison.firstDivergentStep;
  if (step?.expected) {
    const originalTree = `sha256:${step.expected}` as const;
    if (await input.store.has(originalTree)) {
      const [a, b] = [join(input.workDir, `${step.step}.original.tar`), join(input.workDir, `${step.step}.rebuilt.tar`)];
      for (const [file, tree] of [[a, originalTree], [b, `sha256:${step.actual}` as const]] as const) {
        const manifest = await input.store.readTree(tree);
        const { pipeline } = await import('node:stream/promises');
        const { createWriteStream } = await import('node:fs');
        await pipeline(archive.writeTreeTar(input.store, manifest, { mtime: input.summary.sourceDateEpoch }), createWriteStream(file));
      }
      sections.push({ title: `step ${step.step}: output tree`, report: await diff.diffPaths(a, b) });
    } else {
      sections.push({ title: `step ${step.step}: output tree`, note: `the original output tree sha256:${step.expected} is not in this store; only its digest is known` });
    }
  }

  const json = join(input.out, `${input.name}.diff.json`);
  const html = join(input.out, `${input.name}.diff.html`);
  const doc = {
    kiln: 'rebuild-diff/v1',
    verdict: 'FAILED',
    firstDivergentStep: step ?? null,
    artifacts: input.comparison.artifacts,
    sections: sections.map((s) => ({ title: s.title, ...(s.note && { note: s.note }), ...(s.report && { report: diff.toJSON(s.report) }) })),
  };
  await writeFile(json, JSON.stringify(doc, null, 2) + '\n');
  await writeFile(html, rebuildHtml(`kiln rebuild: ${input.name} did not reproduce`, input.comparison, sections.map((s) => ({ title: s.title, note: s.note, html: s.report && diff.toHtml(s.report) }))));
  const text = sections
    .map((s) => `${s.title}\n${s.report ? diff.formatText(s.report, { color: false }) : `  ${s.note}`}`)
    .join('\n');
  return { json, html, text };
}

const escapeHtml = (t: string) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * One self-contained page: the verdict, the step where the builds part, and each diff report
 * (kiln diff's own page) in a sandboxed inline frame, so no markup from an archive can act.
 */
function rebuildHtml(title: string, comparison: RebuildComparison, sections: Array<{ title: string; note?: string; html?: string }>): string {
  const rows = comparison.steps
    .map((s) => `<tr class="${s.reproduced ? 'ok' : 'bad'}"><td>${escapeHtml(s.step)}</td><td>${s.reproduced ? 'same' : 'differs'}</td><td><code>${escapeHtml(s.expected ?? '—')}</code></td><td><code>${escapeHtml(s.actual)}</code></td></tr>`)
    .join('');
  const body = sections
    .map((s) => `<h2>${escapeHtml(s.title)}</h2>${s.note ? `<p>${escapeHtml(s.note)}</p>` : ''}${s.html ? `<iframe sandbox="" srcdoc="${escapeHtml(s.html)}"></iframe>` : ''}`)
    .join('\n');
  const first = comparison.firstDivergentStep;
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:80em}code{font-size:12px}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}tr.bad td{background:#fde8e8}tr.ok td{background:#e8f6e8}
iframe{width:100%;height:40em;border:1px solid #ccc}</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p>${first ? `The builds part at step <b>${escapeHtml(first.step)}</b>: the first step, in build order, whose output tree differs.` : 'Every step output matches; the difference is in the artifacts only.'}</p>
<table><tr><th>step</th><th></th><th>original output tree</th><th>rebuilt output tree</th></tr>${rows}</table>
${body}
</body></html>
`;
}

function findOriginal(candidates: string[], name: string): string | undefined {
  for (const c of candidates) {
    if (existsSync(join(c, name))) return join(c, name);
    if (basename(c) === basename(name) && existsSync(c)) return c;
  }
  return undefined;
}

