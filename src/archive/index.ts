export { ArchiveError } from './errors.js';
export type { ArchiveErrorCode, ArchiveErrorOptions } from './errors.js';
export { createTreeBuilder } from './tree-builder.js';
export type { FileInfo, SpecialKind, TreeBuilder, TreeBuilderOptions } from './tree-builder.js';
export { ingestTar } from './ingest-tar.js';
export { ingestDirectory } from './ingest-directory.js';
export { detectArchiveFormat, detectFormat, FORMAT_HEAD_BYTES } from './format.js';
export type { ContentFormat } from './format.js';
export { unpackArchive } from './unpack.js';
export { MAX_DEB_CONTROL_BYTES, MAX_DEB_CONTROL_MEMBER_BYTES, readDebControl, readDebControls } from './deb-control.js';
export type { DebBlob } from './deb-control.js';
export { xzStreamSize } from './xz-index.js';
export type { UnpackOptions } from './unpack.js';
export { Reader } from './reader.js';
export { readTar } from './tar.js';
export type { TarEntry, TarEntryType, TarReader, TarReaderOptions } from './tar.js';
export { readAr } from './ar.js';
export type { ArEntry, ArReader, ArReaderOptions } from './ar.js';
export { openZip } from './zip.js';
export type { ZipArchive, ZipEntry, ZipEntryType } from './zip.js';
export { openFileRange } from './range.js';
export type { RangeSource } from './range.js';
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
