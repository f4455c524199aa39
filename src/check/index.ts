export { runCheck, CHECK_FORMAT } from './check.js';
export type { CheckBuild, CheckEvent, CheckMode, CheckOptions, CheckResult, CheckRun, Culprit, VariationResult, VariationVerdict } from './check.js';
export { CheckError } from './errors.js';
export type { CheckErrorCode } from './errors.js';
export { differingArtifacts, minimizeSubset } from './compare.js';
export {
  checkToken,
  loadVariations,
  parseVariations,
  selectVariations,
  toBuildVariation,
  unavailableReason,
  variationMethod,
  TIME_VARIATION,
  VARIATIONS_FILE,
  VARIATIONS_FORMAT,
} from './variations.js';
export type { Variation, VariationApply, VariationMeans, VariationMethod, VariationSet } from './variations.js';
export { check, diffCheck, toCheckStatement, writeCheckFiles, PREDICATE_KILN_CHECK_V1 } from './report.js';
export type { ArtifactDiff, CheckDiff, CheckPredicate, CheckReport, CheckReportOptions, WriteCheckOptions } from './report.js';
