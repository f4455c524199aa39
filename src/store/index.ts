export { createStore } from './store.js';
export { createMemoryStore } from './memory.js';
export type { MemoryStore } from './memory.js';
export { REF } from './refs.js';
export type { RefNamespace } from './refs.js';
export { StoreError } from './errors.js';
export type { StoreErrorCode } from './errors.js';
export {
  STORE_LAYOUT,
  actionPathFor,
  blobPathFor,
  refPathFor,
  resolveStoreRoot,
} from './path.js';
export { parseIntegrity } from './integrity.js';
export type { Expectation, HashAlgorithm } from './integrity.js';
export {
  TREE_MANIFEST_PREFIX,
  isTreePath,
  parseActionRecord,
  parseTreeManifest,
  treeBlobs,
  validateActionRecord,
  validateTreeManifest,
} from './validate.js';
export { DEFAULT_GC_MAX_AGE_MS, GC_GRACE_MS } from './maintenance.js';
export { TREE_FORMAT, comparePaths } from './tree.js';
export type { TreeEntry, TreeManifest } from './tree.js';
export type {
  ActionCache,
  ActionLookup,
  ActionOrigin,
  ActionRecord,
  Cas,
  LocalStore,
  Maintenance,
  PutOptions,
  PutResult,
  RandomAccessBlob,
  Refs,
  Store,
  StoreGcOptions,
  StoreGcReport,
  StoreOptions,
  StoreStats,
  StoreVerifyReport,
} from './types.js';
