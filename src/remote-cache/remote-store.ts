import type { Signer } from '../attest/types.js';
import type { Location } from '../fetch/sources.js';
import { REF, type RefNamespace } from '../store/refs.js';
import type { Store } from '../store/types.js';
import type { Digest } from '../util/digest.js';
import { createRemoteActionCache } from './action-cache.js';
import type { RemoteCacheClient } from './client.js';
import { createBlobSharing, createRemoteContentSource } from './content-source.js';
import { DEFAULT_ENTRY_BUDGETS, type EntryBudgets } from './download.js';
import type { CacheTrust } from './entry.js';
import type { RemoteCacheEvent } from './events.js';
import { createLink } from './link.js';

export interface RemoteStoreOptions {
  /** Where everything is kept and read from: the remote only ever fills it. */
  local: Store;
  remote: RemoteCacheClient;
  trust: CacheTrust;
  /** Signs uploaded entries; without one they go up unsigned (and never replace an entry already there). */
  signer?: Signer;
  /** Look results up in the remote action cache (default true); false: the remote serves pinned blobs and receives results. */
  readActions?: boolean;
  /** Upload new results and newly fetched pinned blobs (default true). */
  upload?: boolean;
  budgets?: Partial<EntryBudgets>;
  onEvent?: (event: RemoteCacheEvent) => void;
}

/** The local store with a remote CAS and action cache behind it. */
export interface RemoteStore extends Store {
  readonly local: Store;
  readonly remote: RemoteCacheClient;
  /** The remote CAS as a source of pinned bytes, read by digest (a mirror: after the others, before the upstream). */
  readonly location: Location;
  /** The keyid that signs uploaded entries; undefined when they go up unsigned. */
  readonly signedBy: string | undefined;
  /** Uploads the pinned blobs recorded since the last flush (a build calls it at its end). */
  flush(): Promise<void>;
  close(): void;
}

/**
 * The store seam of the shared cache: `local` composed with a REAPI CAS and action cache, so
 * that neither the executor nor the fetchers know a remote exists. Every read is the local
 * store's; the remote only fills it: the action cache on a local miss (action-cache.ts), pinned
 * bytes as a mirror read by digest (`location`). Results made here go up with `putAction`;
 * pinned blobs marked by `setRef(integrity…)` go up at `flush()`. A remote failure never fails
 * the build: a refused entry is a miss, an unreachable server is switched off for the run, and
 * each is said through `onEvent`.
 */
export function createRemoteStore(options: RemoteStoreOptions): RemoteStore {
  const { local, remote } = options;
  const upload = options.upload ?? true;
  const link = createLink(remote, options.onEvent ?? (() => {}));
  const actions = createRemoteActionCache(link, {
    local,
    trust: options.trust,
    ...(options.signer && { signer: options.signer }),
    readActions: options.readActions ?? true,
    upload,
    budgets: { ...DEFAULT_ENTRY_BUDGETS, ...options.budgets },
  });
  const sharing = createBlobSharing(link, local);
  return {
    local,
    remote,
    location: { kind: 'cas', store: createRemoteContentSource(link), label: `remote cache ${remote.endpoint}` },
    signedBy: options.signer?.keyid,
    putStream: (s, o) => local.putStream(s, o),
    putFile: (f, o) => local.putFile(f, o),
    putBytes: (d, o) => local.putBytes(d, o),
    has: (d) => local.has(d),
    sizeOf: (d) => local.sizeOf(d),
    findMissing: (d) => local.findMissing(d),
    openBlob: (d) => local.openBlob(d),
    openRandomAccess: (d) => local.openRandomAccess(d),
    readBlob: (d) => local.readBlob(d),
    putTree: (m) => local.putTree(m),
    readTree: (d) => local.readTree(d),
    getAction: (key, lookup) => actions.getAction(key, lookup),
    putAction: (key, record, lookup) => actions.putAction(key, record, lookup),
    getRef: (ns: RefNamespace, name: string) => local.getRef(ns, name),
    async setRef(ns: RefNamespace, name: string, digest: Digest) {
      await local.setRef(ns, name, digest);
      if (upload && ns === REF.integrity) sharing.mark(digest);
    },
    flush: () => sharing.flush(),
    close: () => remote.close(),
  };
}
