import type { Readable } from 'node:stream';
import type { Digest } from '../util/digest.js';
import type { TreeManifest } from './tree.js';

export interface PutOptions {
  /**
   * Expected SRI (`sha256-…`, `sha384-…`, `sha512-…`, possibly several). The bytes are hashed
   * while they are written; on mismatch the temp file is removed, nothing enters the store,
   * and a StoreError `KILN_STORE_INTEGRITY` carries expected/found.
   */
  integrity?: string;
  /** Expected sha256 digest: same rules as `integrity`. */
  digest?: Digest;
  /** Called with the running byte count, for progress displays. */
  onProgress?: (bytes: number) => void;
  signal?: AbortSignal;
}

export interface PutResult {
  digest: Digest;
  size: number;
  /** SRI of the bytes: sha256 always, plus each algorithm the expected integrity named. */
  integrity: string;
}

/** What the action cache keeps for one step run (only successful runs are cached). */
export interface ActionRecord {
  kiln: 'action/v1';
  outputTree: Digest;
  log: Digest;
  exitCode: number;
  /** Not part of any digest: informational. */
  durationMs: number;
  createdAt: string;
}

export interface StoreStats {
  root: string;
  blobs: number;
  blobBytes: number;
  trees: number;
  actions: number;
  refs: number;
  tempFiles: number;
}

export interface StoreVerifyReport {
  checked: number;
  /** Objects whose bytes no longer match their address; `verify` removes them. */
  corrupt: Digest[];
  /** Action records or refs that point at missing objects; removed. */
  dangling: string[];
}

export interface StoreGcOptions {
  /** Keep action records and refs used within this many milliseconds (default 30 days). */
  maxAgeMs?: number;
  dryRun?: boolean;
}

export interface StoreGcReport {
  removedBlobs: number;
  removedBytes: number;
  removedActions: number;
  removedRefs: number;
  removedTempFiles: number;
}

/**
 * The content-addressed store. Safe for several kiln processes at once: every write goes to
 * a unique temp file in the store, is hashed while written, and is renamed into place only
 * when its digest is right; an existing destination is success.
 */
export interface Store {
  readonly root: string;
  putStream(source: Readable, options?: PutOptions): Promise<PutResult>;
  putFile(file: string, options?: PutOptions): Promise<PutResult>;
  putBytes(data: Uint8Array | string, options?: PutOptions): Promise<PutResult>;
  has(digest: Digest): Promise<boolean>;
  /** Where the blob lives (read-only; use only after `has`). */
  blobPath(digest: Digest): string;
  /** A stream of the blob, verified while read: errors with KILN_STORE_CORRUPT at the end if it does not match. */
  openBlob(digest: Digest): Readable;
  /** A small blob (manifests, records), verified. Throws KILN_STORE_MISSING when absent. */
  readBlob(digest: Digest): Promise<Buffer>;
  putTree(manifest: TreeManifest): Promise<Digest>;
  readTree(digest: Digest): Promise<TreeManifest>;
  getAction(key: Digest): Promise<ActionRecord | undefined>;
  putAction(key: Digest, record: ActionRecord): Promise<void>;
  /**
   * Named pointers kept as GC roots, e.g. ref('integrity', 'sha512-…') → the blob fetched
   * for that SRI, so a second fetch of a pinned input needs no network.
   */
  getRef(namespace: string, name: string): Promise<Digest | undefined>;
  setRef(namespace: string, name: string, digest: Digest): Promise<void>;
  stats(): Promise<StoreStats>;
  verify(): Promise<StoreVerifyReport>;
  gc(options?: StoreGcOptions): Promise<StoreGcReport>;
}

export interface StoreOptions {
  /** Default: $KILN_STORE, else $XDG_CACHE_HOME/kiln, else ~/.cache/kiln. */
  root?: string;
}
