import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import ssri from 'ssri';
import { StoreError } from '../../src/store/errors.js';
import type { TreeManifest } from '../../src/store/tree.js';
import type { ActionRecord, PutOptions, PutResult, Store } from '../../src/store/types.js';
import { canonicalJSON } from '../../src/util/canonical-json.js';
import { digestHex, type Digest } from '../../src/util/digest.js';
import { readFile } from 'node:fs/promises';

/** A Store kept in memory, hashing for real; for tests of code that only needs the interface. */
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

  const unsupported = (what: string) => () => Promise.reject(new Error(`memory store: ${what} is not supported`));

  return {
    root: 'memory:',
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
    blobPath(digest) {
      // Not a real file: code that needs random access must notice and spill to a temp file.
      return `/nonexistent/kiln-memory-store/${digestHex(digest)}`;
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
      const { digest } = await putBytes(canonicalJSON(manifest));
      trees.add(digest);
      return digest;
    },
    async readTree(digest) {
      return JSON.parse(get(digest).toString('utf8')) as TreeManifest;
    },
    async getAction(key) {
      return actions.get(key);
    },
    async putAction(key, record) {
      actions.set(key, record);
    },
    async getRef(namespace, name) {
      return refs.get(`${namespace}/${name}`);
    },
    async setRef(namespace, name, digest) {
      refs.set(`${namespace}/${name}`, digest);
    },
    stats: unsupported('stats'),
    verify: unsupported('verify'),
    gc: unsupported('gc'),
  };
}
