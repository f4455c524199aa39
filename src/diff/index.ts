export { diffPaths } from './compare.js';
export { classify, summarize } from './classify.js';
export { DiffError } from './errors.js';
export type { DiffErrorCode } from './errors.js';
export { unifiedDiff } from './text.js';
export type { UnifiedDiffOptions } from './text.js';
export { detectFormat } from '../archive/format.js';
export type { ContentFormat } from '../archive/format.js';
export { parseGzipHeader } from '../archive/gzip.js';
export type { GzipHeader } from '../archive/gzip.js';
export { formatText, toHtml, toJSON } from './render.js';
export type { TextRenderOptions, DiffReportJSON } from './render.js';
export { DEFAULT_MAX_SPILL_BYTES } from './context.js';
export { diff } from './diff.js';
export type { DiffFilesOptions } from './diff.js';
export { DIFF_CLASSES } from './types.js';
export type {
  BinaryRegion,
  DiffClass,
  DiffOptions,
  DiffReport,
  DiffSummary,
  Difference,
  DifferenceDetail,
  DifferenceKind,
  EntryType,
  MetaValue,
  RawDifference,
  TextHunk,
} from './types.js';
