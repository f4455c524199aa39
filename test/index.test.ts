import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as kiln from '../src/index.js';
import type * as Kiln from '../src/index.js';

const entry = suite("the library entry point ('kiln-build')");

// The whole value surface, sorted. A change here is a change of the published API: make it on purpose.
const EXPORTS = [
  'ArchiveError', 'AttestError', 'BuildError', 'CheckError', 'DiffError', 'FetchError', 'KilnError', 'LockError', 'PLATFORM',
  'RebuildError', 'RecipeError', 'SandboxError', 'StoreError', 'VendorError', 'VerifyError',
  'build', 'canonicalJSON', 'check', 'checkVendorFolder', 'computeActionKey', 'createEngine', 'createStore', 'diff', 'diffPaths',
  'digest', 'digestPath', 'fetchInput', 'fetchInputs', 'ingestDirectory', 'ingestTar', 'inspect', 'keygen', 'loadRecipe',
  'loadSandboxProfile', 'lock', 'normalizeTree', 'packLayers', 'parseRecipe', 'planBuild', 'rebuild', 'resolveSources', 'runCheck',
  'selectArtifacts', 'unpackArchive', 'vendor', 'vendorRecipe', 'verify', 'verifyProvenance', 'writeTreeTar',
];

entry('exports exactly the pinned list', () => {
  assert.equal(Object.keys(kiln).sort(), EXPORTS);
});

entry('exports one function per command the CLI has', () => {
  for (const name of ['build', 'rebuild', 'check', 'verify', 'inspect', 'diff', 'lock', 'vendor', 'keygen', 'digest'] as const) {
    assert.type(kiln[name], 'function', name);
  }
});

entry("is what the package name resolves to (package.json's exports)", async () => {
  const published = (await import('kiln-build' as string)) as typeof kiln;
  assert.is(published.verify, kiln.verify);
  assert.is(published.build, kiln.build);
});

// The option and result types of each command: this file stops compiling when one goes missing.
export type CommandTypes = [
  Kiln.BuildOptions, Kiln.BuildSummary,
  Kiln.RebuildOptions, Kiln.RebuildResult,
  Kiln.CheckReportOptions, Kiln.CheckReport, Kiln.CheckOptions, Kiln.CheckRun, Kiln.CheckResult,
  Kiln.VerifyOptions, Kiln.VerifyResult,
  Kiln.InspectFileOptions, Kiln.Inspection,
  Kiln.DiffFilesOptions, Kiln.DiffReport,
  Kiln.LockRecipeOptions, Kiln.LockResult,
  Kiln.VendorOptions, Kiln.VendorResult, Kiln.VendorCheckOptions, Kiln.VendorCheckReport,
  Kiln.KeygenOptions, Kiln.KeygenResult,
  Kiln.PathDigest,
];

entry.run();
