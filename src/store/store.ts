import { mkdir, readFile, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { canonicalJSON } from '../util/canonical-json.js';
import type { Digest } from '../util/digest.js';
import { StoreError } from './errors.js';
import { mapLimit } from '../util/map-limit.js';
import { isNotFound, touch, writeFileAtomic } from './fsutil.js';
import { gcStore, statsOf, verifyStore } from './maintenance.js';
import { actionPathFor, assertDigest, blobPathFor, casDir, refPathFor, resolveStoreRoot, tmpDir } from './path.js';
import { openBlobAt, openRandomAccessAt, readBlobAt } from './read.js';
import type { RefNamespace } from './refs.js';
import type { TreeManifest } from './tree.js';
import type { ActionRecord, LocalStore, Maintenance, PutOptions, PutResult, RandomAccessBlob, StoreGcOptions, StoreOptions } from './types.js';
import { parseActionRecord, parseRef, parseTreeManifest, treeBlobs, validateActionRecord, validateTreeManifest } from './validate.js';
import { putBytesIn, putFileIn, putStreamIn } from './write.js';

/** How many `stat` calls run at once when checking that a tree's blobs are present. */
const STAT_CONCURRENCY = 32;

/**
 * Opens (creating if needed) the store at `options.root` ?? `$KILN_STORE` ??
 * `$XDG_CACHE_HOME/kiln` ?? `~/.cache/kiln`. No lock is taken: every write is a temp file
 * renamed into place, so several processes can share one store.
 */
export async function createStore(options: StoreOptions = {}): Promise<LocalStore> {
  const root = resolveStoreRoot(options.root);
  await mkdir(tmpDir(root), { recursive: true });
  await mkdir(casDir(root), { recursive: true });
  return new FileStore(root);
}

class FileStore implements LocalStore {
  readonly maintenance: Maintenance;

  constructor(readonly root: string) {
    this.maintenance = {
      stats: () => statsOf(this),
      verify: () => verifyStore(this),
      gc: (options?: StoreGcOptions) => gcStore(this, options),
    };
  }

  putStream(source: Readable, options?: PutOptions): Promise<PutResult> {
    return putStreamIn(this.root, source, options);
  }

  putFile(file: string, options?: PutOptions): Promise<PutResult> {
    return putFileIn(this.root, file, options);
  }

  putBytes(data: Uint8Array | string, options?: PutOptions): Promise<PutResult> {
    return putBytesIn(this.root, data, options);
  }

  /** Existence only (cheap); reads verify. */
  async has(digest: Digest): Promise<boolean> {
    return (await this.sizeOf(digest)) !== undefined;
  }

  async findMissing(digests: readonly Digest[]): Promise<Digest[]> {
    const unique = [...new Set(digests)];
    const present = await mapLimit(unique, STAT_CONCURRENCY, (d) => this.has(d));
    return unique.filter((_, i) => !present[i]);
  }

  async openRandomAccess(digest: Digest): Promise<RandomAccessBlob> {
    return openRandomAccessAt(this.root, digest);
  }

  openBlob(digest: Digest): Readable {
    return openBlobAt(this.root, digest);
  }

  readBlob(digest: Digest): Promise<Buffer> {
    return readBlobAt(this.root, digest);
  }

  async putTree(manifest: TreeManifest): Promise<Digest> {
    const valid = validateTreeManifest(manifest);
    const sizes = new Map<Digest, number>();
    for (const entry of valid.entries) if (entry.type === 'file') sizes.set(entry.digest, entry.size);
    await mapLimit([...sizes], STAT_CONCURRENCY, async ([digest, size]) => {
      const found = await this.sizeOf(digest);
      if (found === undefined) {
        throw new StoreError('KILN_STORE_MISSING', `a tree lists ${digest}, which the store does not hold`);
      }
      if (found !== size) {
        throw new StoreError('KILN_STORE_BAD_TREE', `a tree lists ${digest} with size ${size}, but the blob has ${found} bytes`, {
          expected: String(size),
          found: String(found),
        });
      }
    });
    return (await this.putBytes(canonicalJSON(valid))).digest;
  }

  async readTree(digest: Digest): Promise<TreeManifest> {
    return parseTreeManifest(await this.readBlob(digest));
  }

  /**
   * undefined when there is no record, when it is unreadable, or when anything it points at
   * (output tree, every blob the tree lists, the log) is gone or corrupt: a miss, so the step
   * runs again. A hit touches the record: gc keeps recently used records.
   */
  async getAction(key: Digest): Promise<ActionRecord | undefined> {
    const path = actionPathFor(this.root, key);
    let record: ActionRecord;
    try {
      record = parseActionRecord(await readFile(path, 'utf8'));
    } catch (err) {
      if (isNotFound(err) || err instanceof StoreError) return undefined;
      throw err;
    }
    if (!(await this.actionComplete(record))) return undefined;
    await touch(path);
    return record;
  }

  /** @internal also used by verify. */
  async actionComplete(record: ActionRecord): Promise<boolean> {
    if (!(await this.has(record.log))) return false;
    let tree: TreeManifest;
    try {
      tree = await this.readTree(record.outputTree);
    } catch (err) {
      if (err instanceof StoreError) return false;
      throw err;
    }
    return (await this.findMissing(treeBlobs(tree))).length === 0;
  }

  async putAction(key: Digest, record: ActionRecord): Promise<void> {
    assertDigest(key);
    const valid = validateActionRecord(record);
    // Plain JSON, not canonical: records are never hashed, and durationMs may be fractional.
    await writeFileAtomic(this.root, actionPathFor(this.root, key), `${JSON.stringify(valid)}\n`);
  }

  /** undefined when absent, unreadable, or when its target blob is gone. A hit touches the ref (gc root). */
  async getRef(namespace: RefNamespace, name: string): Promise<Digest | undefined> {
    const path = refPathFor(this.root, namespace, name);
    let ref;
    try {
      ref = parseRef(await readFile(path, 'utf8'));
    } catch (err) {
      if (isNotFound(err) || err instanceof StoreError) return undefined;
      throw err;
    }
    // The file name is a hash of the name; the stored name guards against a mix-up.
    if (ref.name !== name || !(await this.has(ref.digest))) return undefined;
    await touch(path);
    return ref.digest;
  }

  async setRef(namespace: RefNamespace, name: string, digest: Digest): Promise<void> {
    assertDigest(digest);
    const path = refPathFor(this.root, namespace, name);
    await writeFileAtomic(this.root, path, `${JSON.stringify({ name, digest })}\n`);
  }

  async sizeOf(digest: Digest): Promise<number | undefined> {
    try {
      const info = await stat(blobPathFor(this.root, digest));
      return info.isFile() ? info.size : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

