import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import ssri from 'ssri';
import { canonicalJSON } from '../util/canonical-json.js';
import type { Digest } from '../util/digest.js';
import { StoreError } from './errors.js';
import type { RefNamespace } from './refs.js';
import type { TreeManifest } from './tree.js';
import type { ActionRecord, PutOptions, PutResult, RandomAccessBlob, Store } from './types.js';
import { parseTreeManifest, validateTreeManifest } from './validate.js';

/**
 * A Store kept in memory, hashing and validating for real: for tests of code that only needs
 * the interface (the builder's graph with a fake engine, the parsers' property tests), and for
 * programs that want a throwaway store.
 */
export interface MemoryStore extends Store {
  /** Every blob, by digest: tests check what a failed operation left behind. */
  readonly blobs: ReadonlyMap<Digest, Buffer>;
  /** Digests of the manifests stored with `putTree`. */
  readonly trees: ReadonlySet<Digest>;
}

/** Chunk size of `openBlob`: small, so that readers see a real multi-chunk stream. */
const READ_CHUNK = 64 * 1024;

export function createMemoryStore(): MemoryStore {
  const blobs = new Map<Digest, Buffer>();
  const trees = new Set<Digest>();
  const actions = new Map<Digest, ActionRecord>();
  const refs = new Map<string, Digest>();

  async function putBytes(data: Uint8Array | string, options: PutOptions = {}): Promise<PutResult> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    const digest: Digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    let integrity = ssri.fromData(bytes, { algorithms: ['sha256'] });
    if (options.integrity !== undefined) {
      const expected = ssri.parse(options.integrity);
      const algorithms = Object.keys(expected);
      integrity = ssri.fromData(bytes, { algorithms: [...new Set(['sha256', ...algorithms])] });
      if (ssri.checkData(bytes, expected) === false) {
        throw new StoreError('KILN_STORE_INTEGRITY', 'memory store: integrity mismatch', {
          expected: options.integrity,
          found: integrity.toString(),
        });
      }
    }
    if (options.digest !== undefined && options.digest !== digest) {
      throw new StoreError('KILN_STORE_INTEGRITY', 'memory store: digest mismatch', { expected: options.digest, found: digest });
    }
    options.onProgress?.(bytes.length);
    if (!blobs.has(digest)) blobs.set(digest, bytes);
    return { digest, size: bytes.length, integrity: integrity.toString() };
  }

  function get(digest: Digest): Buffer {
    const blob = blobs.get(digest);
    if (blob === undefined) throw new StoreError('KILN_STORE_MISSING', `memory store: no blob ${digest}`);
    return blob;
  }

  return {
    blobs,
    trees,
    async putStream(source, options) {
      const chunks: Buffer[] = [];
      for await (const chunk of source) chunks.push(Buffer.from(chunk as Uint8Array));
      return putBytes(Buffer.concat(chunks), options);
    },
    async putFile(file, options) {
      return putBytes(await readFile(file), options);
    },
    putBytes,
    async has(digest) {
      return blobs.has(digest);
    },
    async sizeOf(digest) {
      return blobs.get(digest)?.length;
    },
    async findMissing(digests) {
      return [...new Set(digests)].filter((d) => !blobs.has(d));
    },
    async openRandomAccess(digest): Promise<RandomAccessBlob> {
      const blob = get(digest);
      return { size: blob.length, stream: (start, end) => Readable.from([blob.subarray(start, Math.max(start, end))]), close: async () => {} };
    },
    openBlob(digest) {
      const blob = blobs.get(digest);
      if (blob === undefined) {
        const stream = new Readable({ read() {} });
        process.nextTick(() => stream.destroy(new StoreError('KILN_STORE_MISSING', `memory store: no blob ${digest}`)));
        return stream;
      }
      const chunks: Buffer[] = [];
      for (let at = 0; at < blob.length; at += READ_CHUNK) chunks.push(blob.subarray(at, at + READ_CHUNK));
      return Readable.from(chunks);
    },
    async readBlob(digest) {
      return get(digest);
    },
    async putTree(manifest) {
      // As the disk store does: a valid manifest, every blob it lists present with its size.
      const valid = validateTreeManifest(manifest);
      for (const entry of valid.entries) {
        if (entry.type === 'file' && blobs.get(entry.digest)?.length !== entry.size) {
          throw new StoreError('KILN_STORE_MISSING', `a tree lists ${entry.digest} (${entry.size} bytes), which the store does not hold`);
        }
      }
      const { digest } = await putBytes(canonicalJSON(valid));
      trees.add(digest);
      return digest;
    },
    async readTree(digest): Promise<TreeManifest> {
      return parseTreeManifest(get(digest));
    },
    async getAction(key) {
      return actions.get(key);
    },
    async putAction(key, record) {
      actions.set(key, record);
    },
    async getRef(namespace: RefNamespace, name) {
      return refs.get(`${namespace}/${name}`);
    },
    async setRef(namespace, name, digest) {
      refs.set(`${namespace}/${name}`, digest);
    },
  };
}
