export { ArchiveError } from './errors.js';
export type { ArchiveErrorCode, ArchiveErrorOptions } from './errors.js';
export { createTreeBuilder } from './tree-builder.js';
export type { FileInfo, SpecialKind, TreeBuilder, TreeBuilderOptions } from './tree-builder.js';
export { ingestTar } from './ingest-tar.js';
export { ingestDirectory } from './ingest-directory.js';
export { ARCHIVE_HEAD_BYTES, detectArchiveFormat } from './detect.js';
export { readDebShape, unpackArchive } from './unpack.js';
export { SHAPE_DIGEST } from './ingest-tar.js';
export { MAX_DEB_CONTROL_BYTES, readDebControl } from './deb-control.js';
export type { UnpackOptions } from './unpack.js';
export { packLayers, planPack, writeTreeTar } from './pack.js';
export type { TarMirror } from './mirror.js';
export type { PackEntry } from './pack.js';
export { DEFAULT_MAX_DECOMPRESSED_BYTES, normalizeBlob, normalizeTree } from './normalize.js';
export { canonicalGzipHeader } from './gzip.js';
export type { GzipHeaderFix } from './gzip.js';
export type {
  ArchiveFormat,
  IngestedTree,
  IngestOptions,
  NormalizedTree,
  NormalizeOptions,
  PackLayer,
  PackLayers,
  PackOptions,
} from './types.js';
