import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { BuildReporter, BuildSummary } from '../builder/index.js';
import { build } from '../builder/index.js';
import type { Recipe } from '../recipe/index.js';
import { parseRecipe, topologicalOrder } from '../recipe/index.js';
import type { SourceOptions } from '../fetch/index.js';
import type { EngineChoice } from '../sandbox/engine.js';
import type { Engine } from '../sandbox/types.js';
import type { RemoteCacheOptions } from '../remote-cache/index.js';
import { createStore, type Store } from '../store/index.js';
import { isKilnError, UsageError } from '../util/errors.js';
import { kilnVersion } from '../util/package.js';
import { hexDigestsOfSri } from '../util/integrity.js';
import { joinInside } from '../util/relative-path.js';
import { escapeTerminal } from '../util/terminal.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import type { KilnProvenance, Statement, VsaPredicate } from '../attest/index.js';
import type { Attestation, KeylessOptions, ProvenanceTrust, VerifyCheck, VerifyReport } from '../verify/index.js';
import { compareRebuild, type RebuildComparison } from './compare.js';
import { RebuildError } from './errors.js';

export const DEFAULT_REBUILDER_ID = 'https://kiln.example.org/rebuilders/local/v1';

export interface RebuildOptions {
  /** The provenance: a `.intoto.jsonl`, a DSSE envelope, or a Sigstore bundle. */
  provenance: string;
  /** Trusted public keys (PEM files): the provenance must be signed by one of them. */
  keys?: string[];
  /** Keyless Sigstore bundles: the trusted root (trusted_root.json) … */
  trustedRoot?: string;
  /** … and the expected signer, as `kiln verify` takes them. */
  keyless?: KeylessOptions;
  /**
   * Insecure: rebuild a provenance whose signature nobody checked (`--insecure-ignore-signature`).
   * The comparison is still made and reported, but no verdict is signed: the VSA is written
   * unsigned and marked, and neither `signKey` nor $KILN_SIGN_KEY is used. Refused (KILN_USAGE)
   * together with `keys` or `trustedRoot`: those configure the check this skips.
   */
  insecureIgnoreSignature?: boolean;
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
  /** Which engine the rebuild runs on when `engine` is not given (a farm: `kind: 'reapi'`); the VSA names it. */
  engineChoice?: EngineChoice;
  reporter?: BuildReporter;
  /** Mirrors and a Debian snapshot service for the inputs (a `kiln vendor` folder kept beside the release). */
  sources?: SourceOptions;
  /**
   * A shared cache, only as given here (never $KILN_REMOTE_CACHE and the like): its CAS serves
   * pinned inputs, results made here go up signed with `signKey`; its action cache is read only
   * with `useCache`, and then only entries a `remoteCache.trust` key signed are used.
   */
  remoteCache?: RemoteCacheOptions;
}

export interface RebuildResult {
  verdict: 'PASSED' | 'FAILED';
  /**
   * `kiln verify`'s checks of the provenance (every one passed, except `signature` when it was
   * ignored on request), then `subjects-one-to-one` and `bit-for-bit` from the comparison.
   */
  checks: VerifyCheck[];
  /** False only with insecureIgnoreSignature: nobody vouches for the provenance, and the VSA is unsigned. */
  provenanceVerified: boolean;
  comparison: RebuildComparison;
  summary: BuildSummary;
  /** The verdict file: `<name>.vsa.intoto.jsonl` when signed, `<name>.vsa.statement.json` when not. */
  vsa: { file: string; signed: boolean };
  /** Files written into `out`: rebuilt artifacts, build.json, provenance, VSA, diff reports. */
  files: string[];
  /** Set on FAILED when a diff report was written. */
  diff?: { json: string; html: string; text: string };
}

/**
 * Rebuilds from someone's provenance alone and compares bit for bit. Everything that can be
 * checked before a step runs is: the provenance is verified as `kiln verify` verifies it (the
 * signature by a trusted key or the keyless identity, the statement, distinct subject names
 * that are each a relative path), the embedded recipe against its digest, every resolved
 * dependency against the recipe's pins, and the inputs' bytes against both (while fetching).
 * Then a fresh build without the action cache, a comparison artifact by artifact (one to one
 * by name) and step by step, a VSA whose subjects are the rebuilt digests that matched, and
 * on FAILED a diff report.
 */
export async function rebuild(options: RebuildOptions): Promise<RebuildResult> {
  const attest = await import('../attest/index.js');
  const verify = await import('../verify/index.js');
  const insecure = options.insecureIgnoreSignature === true;
  if (insecure && (options.keys !== undefined || options.trustedRoot !== undefined)) {
    throw new UsageError('--insecure-ignore-signature skips the check that --key / --trusted-root configure: give one or the other');
  }
  if (insecure && options.signKey !== undefined) {
    throw new RebuildError('KILN_REBUILD_UNVERIFIED_SIGN', '--insecure-ignore-signature and --sign-key: kiln does not sign a verdict about a provenance nobody verified', {
      hint: 'verify the provenance (--key, or --trusted-root with --certificate-identity and --certificate-oidc-issuer) to get a signed VSA',
    });
  }
  const provenanceFile = resolve(options.provenance);
  const provenanceBytes = await readFile(provenanceFile).catch((err: NodeJS.ErrnoException) => {
    throw new RebuildError('KILN_REBUILD_BAD_PROVENANCE', `cannot read ${options.provenance}: ${err.code ?? err.message}`, { cause: err, where: { file: options.provenance } });
  });
  const attestation = verify.parseAttestationFile(provenanceBytes, options.provenance);

  const trust = insecure ? undefined : await loadTrust(verify, attestation, options);
  const report = verifyForRebuild(verify, attestation, trust, options, attest.BUILD_TYPE_KILN_RECIPE_V1);
  const { checks } = report;
  // The statement whose bytes were verified (or, insecurely, decoded): never re-read from the file.
  let provenance: KilnProvenance;
  try {
    provenance = attest.provenanceFromStatement(report.statement!);
  } catch (err) {
    // kiln's own shape errors (recipe digest, resolvedDependencies) keep their codes.
    if (isKilnError(err) && err.code !== 'KILN_ATTEST_BUILD_TYPE') throw err;
    throw new RebuildError('KILN_REBUILD_BAD_PROVENANCE', `${options.provenance} holds no kiln SLSA provenance`, { cause: err, where: { file: options.provenance } });
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
    const signKey = insecure ? false : options.signKey;
    const summary = await build({
      recipe,
      out,
      store,
      engine: options.engine,
      ...(options.engineChoice && { engineChoice: options.engineChoice }),
      noCache: !options.useCache,
      // Local inputs come only through --input: the recipe's own file: URLs are refused.
      allowFileUrls: false,
      jobs: options.jobs,
      reporter: options.reporter,
      ...(options.sources && { sources: options.sources }),
      remoteCache: { ...options.remoteCache, fromEnv: false, readActions: options.useCache === true },
      attest: { signKey, builderId: options.rebuilderId ?? DEFAULT_REBUILDER_ID, overrides: { rebuildOf: provenance.metadata.invocationId ?? provenanceFile } },
    });

    const expected = {
      subjects: provenance.subjects,
      stepOutputs: Object.fromEntries(provenance.steps.map((s) => [s.name, s.outputTree.slice('sha256:'.length)])),
    };
    const comparison = compareRebuild(expected, summary, topologicalOrder(recipe));
    checks.push(oneToOneCheck(comparison), bitForBitCheck(comparison));
    const verdict = comparison.reproduced ? 'PASSED' : 'FAILED';
    const name = summary.recipe.name;
    const files = [...summary.artifacts.map((a) => joinInside(out, a.name)), join(out, 'build.json'), ...(summary.attestations?.files ?? []).map((f) => join(out, f))];

    const vsa = attest.buildVsa({
      subjects: vsaSubjects(comparison),
      verifierId: options.rebuilderId ?? DEFAULT_REBUILDER_ID,
      kilnVersion: kilnVersion(),
      ...(summary.engine !== null && { engine: summary.engine }),
      // Derived from the provenance, as `kiln verify --rebuilds` derives the value it expects.
      resourceUri: attest.rebuildResourceUri(provenance.recipe.content) ?? `pkg:generic/${encodeURIComponent(name)}`,
      provenance: { uri: basename(provenanceFile), sha256: attestation.sha256 },
      reproduced: comparison.reproduced,
      timeVerified: summary.timings.finishedOn,
    });
    const vsaFile = await writeVsa(out, name, vsa, signKey, !insecure);
    files.push(vsaFile.file);

    let diff: RebuildResult['diff'];
    if (!comparison.reproduced) {
      diff = await writeDiffReport({ out, name, comparison, summary, store, originals: options.original ?? [dirname(provenanceFile)], workDir });
      files.push(diff.json, diff.html);
    }
    return { verdict, checks, provenanceVerified: !insecure, comparison, summary, vsa: vsaFile, files, ...(diff && { diff }) };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

type VerifyModule = typeof import('../verify/index.js');

/** `kiln verify`'s trust loading (keys, or trusted root and identity); no trust at all is refused with the way out named. */
async function loadTrust(verify: VerifyModule, attestation: Attestation, options: RebuildOptions): Promise<ProvenanceTrust> {
  try {
    return await verify.loadProvenanceTrust(attestation, { keys: options.keys ?? [], keyless: options.keyless ?? {}, ...(options.trustedRoot !== undefined && { trustedRoot: options.trustedRoot }) });
  } catch (err) {
    if (isKilnError(err) && err.code === 'KILN_VERIFY_NO_TRUST') {
      throw new RebuildError('KILN_REBUILD_NO_TRUST', `${err.message}: kiln rebuilds only provenance it can verify`, {
        cause: err,
        where: { file: options.provenance },
        hint: "pass the builder's public key with --key (keyless bundles: --trusted-root, --certificate-identity, --certificate-oidc-issuer); --insecure-ignore-signature rebuilds anyway and signs no verdict",
      });
    }
    throw err;
  }
}

/** Checks whose failure is a verdict on who made the provenance (exit 1, KILN_REBUILD_UNTRUSTED). */
const TRUST_CHECKS = new Set(['signature', 'certificate-identity']);

/**
 * `kiln verify`'s procedure on the provenance, kiln's buildType only, no artifact at hand.
 * Refuses unless every check passed (the `signature` check excepted when the caller chose to
 * ignore it), naming the first failed check: untrusted signer and bad subject names are
 * verdicts (exit 1), anything else is not a kiln provenance (exit 2).
 */
function verifyForRebuild(
  verify: VerifyModule,
  attestation: Attestation,
  trust: ProvenanceTrust | undefined,
  options: RebuildOptions,
  buildType: string,
): VerifyReport & { statement: Statement } {
  const insecure = trust === undefined;
  const report = verify.verifyProvenanceAttestation({ attestation, keys: [], ...trust, buildTypes: [buildType], ignoreSignature: insecure });
  const failed = report.checks.filter((c) => !c.passed && !(insecure && c.name === 'signature'));
  const first = failed[0];
  if (first || !report.statement) {
    const where = { file: options.provenance, ...(report.line !== undefined && attestation.kind === 'dsse' && attestation.envelopes.length > 1 && { line: report.line }) };
    const message = `the provenance fails verification: ${failed.map((c) => `${c.name}: ${c.reason}`).join('; ')}`;
    if (first && TRUST_CHECKS.has(first.name)) {
      throw new RebuildError('KILN_REBUILD_UNTRUSTED', message, { where, check: first.name, hint: "rebuild only provenance you can attribute: pass the builder's public key with --key" });
    }
    if (first?.name === 'subject-names') throw new RebuildError('KILN_REBUILD_BAD_SUBJECTS', message, { where, check: first.name });
    throw new RebuildError('KILN_REBUILD_BAD_PROVENANCE', `${options.provenance} holds no kiln SLSA provenance${first ? ` (${first.name}: ${first.reason})` : ''}`, { where, ...(first && { check: first.name }) });
  }
  return report as VerifyReport & { statement: Statement };
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
    for (const [alg, hex] of Object.entries(hexDigestsOfSri(spec.integrity))) {
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

/** `subjects-one-to-one`: the check the comparison's name matching makes. */
function oneToOneCheck(c: RebuildComparison): VerifyCheck {
  const name = 'subjects-one-to-one';
  if (c.oneToOne) return { name, passed: true, reason: `the ${c.artifacts.length} subject(s) are the ${c.artifacts.length} rebuilt artifact(s), name for name` };
  const problems = [
    ...(c.repeatedSubjects.length > 0 ? [`named twice in the provenance: ${c.repeatedSubjects.map((n) => JSON.stringify(n)).join(', ')}`] : []),
    ...c.artifacts.filter((a) => a.actual === undefined).map((a) => `not rebuilt: ${JSON.stringify(a.name)}`),
    ...(c.extraArtifacts.length > 0 ? [`rebuilt but not in the provenance: ${c.extraArtifacts.map((n) => JSON.stringify(n)).join(', ')}`] : []),
  ];
  return { name, passed: false, reason: problems.join('; ') };
}

/** `bit-for-bit`: every subject's rebuilt digests equal the provenance's. */
function bitForBitCheck(c: RebuildComparison): VerifyCheck {
  const name = 'bit-for-bit';
  const differing = c.artifacts.filter((a) => a.actual !== undefined && !a.reproduced).map((a) => a.name);
  if (c.reproduced) return { name, passed: true, reason: `${c.artifacts.length} artifact(s) identical` };
  return { name, passed: false, reason: differing.length > 0 ? `differs: ${differing.map((n) => JSON.stringify(n)).join(', ')}` : 'no artifact compared identical' };
}

/**
 * The VSA's subjects. PASSED: each artifact as REBUILT, with the sha256 and sha512 computed
 * from the rebuilt bytes (each equal to the provenance's claim, or it would not have
 * passed): a verdict vouches only for bytes this rebuilder made. FAILED: the digests the
 * provenance claimed (sha256/sha512 only), since those are what could not be reproduced.
 */
function vsaSubjects(c: RebuildComparison): Array<{ name: string; digest: Record<string, string> }> {
  if (c.reproduced) return c.artifacts.map((a) => ({ name: a.name, digest: { sha256: a.actual!.sha256, sha512: a.actual!.sha512 } }));
  return c.artifacts.map((a) => ({
    name: a.name,
    digest: Object.fromEntries((['sha256', 'sha512'] as const).filter((alg) => typeof a.expected[alg] === 'string').map((alg) => [alg, a.expected[alg]!])),
  }));
}

/**
 * Signed (`<name>.vsa.intoto.jsonl`) when a key is at hand and the provenance was verified;
 * otherwise `<name>.vsa.statement.json`, marked unsigned (and unverified when it is). The
 * other form is removed, so a folder never holds a signed verdict from an earlier run beside
 * this one.
 */
async function writeVsa(out: string, name: string, vsa: Statement<VsaPredicate>, signKey: string | false | undefined, provenanceVerified: boolean): Promise<{ file: string; signed: boolean }> {
  const attest = await import('../attest/index.js');
  const keyFile = signKey === false ? undefined : attest.resolveSignKey(signKey);
  await mkdir(out, { recursive: true });
  const signed = keyFile !== undefined;
  const signedFile = join(out, `${name}.vsa.intoto.jsonl`);
  const unsignedFile = join(out, `${name}.vsa.statement.json`);
  const file = signed ? signedFile : unsignedFile;
  const text = signed
    ? attest.envelopeToJSON(attest.signEnvelope(Buffer.from(JSON.stringify(vsa)), attest.PAYLOAD_TYPE_INTOTO, [await attest.readSigner(keyFile)])) + '\n'
    : JSON.stringify(
        {
          signed: false,
          provenanceVerified,
          ...(!provenanceVerified && { warning: 'UNVERIFIED PROVENANCE: rebuilt with --insecure-ignore-signature; nobody vouches for what this verdict compares against' }),
          statement: vsa,
        },
        null,
        2,
      ) + '\n';
  await writeFileAtomic(file, text);
  await rm(signed ? unsignedFile : signedFile, { force: true });
  return { file, signed };
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
    const rebuilt = joinInside(input.out, a.name);
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
    // For a terminal: titles and notes quote subject names, so they are escaped as kiln diff escapes its own text.
    .map((s) => `${escapeTerminal(s.title)}\n${s.report ? diff.formatText(s.report, { color: false }) : `  ${escapeTerminal(s.note ?? '')}`}`)
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

/**
 * The original of artifact `name`: `<candidate>/<name>` for a folder, or a candidate file with
 * the same base name. `name` is a subject name (verified a relative path); joinInside keeps
 * the lookup inside each candidate folder even so.
 */
function findOriginal(candidates: string[], name: string): string | undefined {
  for (const c of candidates) {
    const inside = joinInside(c, name);
    if (existsSync(inside)) return inside;
    if (basename(c) === basename(name) && existsSync(c)) return c;
  }
  return undefined;
}

