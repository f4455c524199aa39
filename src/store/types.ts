import type { Readable } from 'node:stream';
import type { Digest } from '../util/digest.js';
import type { RefNamespace } from './refs.js';
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
  /**
   * Set when the result was made elsewhere and came from a shared cache: kept with the record so
   * that later builds served from this store still say so in their provenance. Absent: run here.
   */
  origin?: ActionOrigin;
}

/**
 * Where a cached result came from, and what admitted it: a signature by a key the reader
 * trusts (`keyid`, its OpenSSH fingerprint), or the user's explicit trust in the server.
 */
export interface ActionOrigin {
  kind: 'remote-cache';
  /** `grpc[s]://host:port`, without credentials. */
  endpoint: string;
  instance: string;
  admittedBy: 'signature' | 'trusted-server';
  /** The trusted key whose signature verified (always set for `signature`; set for `trusted-server` when one happened to verify). */
  keyid?: string;
}

/**
 * What an action cache may use besides the key: the key's preimage (the canonical JSON of the
 * action key material, whose sha256 IS the key), which a remote action cache needs to address
 * the entry (REAPI digests carry a size) and stores beside it, and a label for messages.
 */
export interface ActionLookup {
  keyMaterial?: string;
  /** e.g. `step "compile"`, for warnings about the entry. */
  label?: string;
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
 * Blobs and tree manifests, by content. Every write is hashed while it happens and lands only
 * when its digest is right; every read is verified. Nothing here names where bytes live: a
 * local folder, memory, or a remote CAS behind the same calls.
 */
export interface Cas {
  putStream(source: Readable, options?: PutOptions): Promise<PutResult>;
  /** The bytes of a file of the caller's (its path is read, never kept). */
  putFile(file: string, options?: PutOptions): Promise<PutResult>;
  putBytes(data: Uint8Array | string, options?: PutOptions): Promise<PutResult>;
  has(digest: Digest): Promise<boolean>;
  /** The size of a blob the store holds; undefined when absent. */
  sizeOf(digest: Digest): Promise<number | undefined>;
  /** Which of `digests` the store lacks, in one call: a remote CAS answers in one round trip. */
  findMissing(digests: readonly Digest[]): Promise<Digest[]>;
  /** A stream of the blob, verified while read: errors with KILN_STORE_CORRUPT at the end if it does not match. */
  openBlob(digest: Digest): Readable;
  /**
   * The blob for reads at any offset (a zip's central directory, a tar's members out of order).
   * Bytes were verified when they entered this store; ranges are not re-hashed.
   */
  openRandomAccess(digest: Digest): Promise<RandomAccessBlob>;
  /** A small blob (manifests, records), verified. Throws KILN_STORE_MISSING when absent. */
  readBlob(digest: Digest): Promise<Buffer>;
  putTree(manifest: TreeManifest): Promise<Digest>;
  readTree(digest: Digest): Promise<TreeManifest>;
}

/** A blob opened for random access; `close()` when done. */
export interface RandomAccessBlob {
  readonly size: number;
  /** Bytes `[start, end)` as a stream. */
  stream(start: number, end: number): Readable;
  close(): Promise<void>;
}

/** What a step's action key gave: only successful runs are recorded. */
export interface ActionCache {
  /** undefined on a miss, or when anything the record points at is gone or corrupt. */
  getAction(key: Digest, lookup?: ActionLookup): Promise<ActionRecord | undefined>;
  putAction(key: Digest, record: ActionRecord, lookup?: ActionLookup): Promise<void>;
}

/**
 * Named pointers kept as GC roots, e.g. ref(REF.integrity, 'sha512-…') → the blob fetched
 * for that SRI, so a second fetch of a pinned input needs no network.
 */
export interface Refs {
  getRef(namespace: RefNamespace, name: string): Promise<Digest | undefined>;
  setRef(namespace: RefNamespace, name: string, digest: Digest): Promise<void>;
}

/** Upkeep of a store kiln owns. */
export interface Maintenance {
  stats(): Promise<StoreStats>;
  verify(): Promise<StoreVerifyReport>;
  gc(options?: StoreGcOptions): Promise<StoreGcReport>;
}

/**
 * What a build needs of a store: its content, its action cache and its refs, three
 * capabilities that a caller may hold apart (a function that only reads blobs takes a `Cas`).
 */
export type Store = Cas & ActionCache & Refs;

/**
 * The store on this machine's disk. Safe for several kiln processes at once: every write goes
 * to a unique temp file in the store, is hashed while written, and is renamed into place only
 * when its digest is right; an existing destination is success.
 */
export interface LocalStore extends Store {
  /** The folder, for messages and `kiln cache stats`; nothing outside the store opens files in it. */
  readonly root: string;
  readonly maintenance: Maintenance;
}

export interface StoreOptions {
  /** Default: $KILN_STORE, else $XDG_CACHE_HOME/kiln, else ~/.cache/kiln. */
  root?: string;
}
