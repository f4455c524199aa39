import type { ContentOpened, ContentSource } from '../fetch/sources.js';
import type { Cas } from '../store/types.js';
import type { Digest } from '../util/digest.js';
import { isRefusal, OFF, type RemoteLink } from './link.js';
import { blobIndexDigest, sizeFromBlobIndex } from './mapping.js';
import { shareBlobs } from './upload.js';

/**
 * The remote CAS as a source of pinned bytes, read by digest: with the pin's size when it names
 * one (Debian packages, a .dsc's files, a git tree's files), else with the size hint a writer
 * left (mapping.ts). The fetcher verifies every byte against the pin, as from any source.
 */
export function createRemoteContentSource(link: RemoteLink): ContentSource {
  const unreachable = (): ContentOpened => ({ ok: false, missing: false, reason: `unreachable (${link.down})` });
  const sizeHint = async (hex: string) => {
    const result = await link.remote.getActionResult(blobIndexDigest(hex).digest);
    return result && sizeFromBlobIndex(result, hex);
  };
  return {
    async open(blob, signal) {
      const call = signal ? { signal } : undefined;
      try {
        const size = blob.size ?? (await link.reach(() => sizeHint(blob.sha256)));
        if (size === OFF) return unreachable();
        if (size === undefined) return { ok: false, missing: true, reason: 'not there (no size hint for this blob, and the pin names no size)' };
        const digest = { hash: blob.sha256, sizeBytes: size };
        const missing = await link.reach(() => link.remote.findMissingBlobs([digest], call));
        if (missing === OFF) return unreachable();
        if (missing.length > 0) return { ok: false, missing: true, reason: 'not there' };
        return { ok: true, stream: link.remote.openBlobStream(digest, call), size };
      } catch (err) {
        if (!isRefusal(err)) throw err;
        return { ok: false, missing: false, reason: err.message };
      }
    },
  };
}

/**
 * Pinned blobs marked as they enter the store (`setRef(integrity…)`), uploaded together at
 * `flush()`: one FindMissingBlobs for every blob of the run.
 */
export function createBlobSharing(link: RemoteLink, local: Cas): { mark(digest: Digest): void; flush(): Promise<void> } {
  const pending = new Set<Digest>();
  return {
    mark: (digest) => void pending.add(digest),
    async flush() {
      const digests = [...pending];
      pending.clear();
      if (digests.length === 0) return;
      try {
        const report = await link.reach(() => shareBlobs(link.remote, local, digests));
        if (report !== OFF) link.emit({ type: 'shared', blobs: digests.length, report });
      } catch (err) {
        if (!isRefusal(err)) throw err;
        link.emit({ type: 'failed', what: 'sharing pinned blobs', code: err.code, reason: err.message });
      }
    },
  };
}
