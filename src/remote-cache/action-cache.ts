import type { Signer } from '../attest/types.js';
import type { ActionCache, ActionLookup, ActionOrigin, ActionRecord, Cas } from '../store/types.js';
import type { Digest } from '../util/digest.js';
import { endpointBase } from './client.js';
import { downloadEntry, type EntryBudgets } from './download.js';
import type { CacheTrust } from './entry.js';
import { isRefusal, OFF, type RemoteLink } from './link.js';
import { actionEntryDigest } from './mapping.js';
import { uploadEntry } from './upload.js';

export interface RemoteActionCacheOptions {
  local: Cas & ActionCache;
  trust: CacheTrust;
  signer?: Signer;
  readActions: boolean;
  upload: boolean;
  budgets: EntryBudgets;
}

/**
 * The action cache half of the remote store. `getAction`: the local cache, then on a miss the
 * remote entry, admitted only when its signed claim matches what its verified bytes make, and
 * then kept locally with its origin. `putAction`: kept locally, and a result made here goes up.
 * A refused entry is a miss (the step runs) and is said through the link's events.
 */
export function createRemoteActionCache(link: RemoteLink, options: RemoteActionCacheOptions): ActionCache {
  const { local, trust, signer } = options;
  const origin: Omit<ActionOrigin, 'admittedBy'> = { kind: 'remote-cache', endpoint: endpointBase(link.remote), instance: link.remote.instanceName };
  /** Keys whose remote entry exists (refused here): an unsigned result must not replace it. */
  const presentRemotely = new Set<Digest>();
  const labelled = (label: string | undefined) => (label === undefined ? {} : { label });

  async function getAction(key: Digest, lookup?: ActionLookup): Promise<ActionRecord | undefined> {
    const hit = await local.getAction(key);
    if (hit || !options.readActions || lookup?.keyMaterial === undefined) return hit;
    try {
      const entryKey = actionEntryDigest(key, lookup.keyMaterial);
      const result = await link.reach(() => link.remote.getActionResult(entryKey));
      if (result === OFF || result === undefined) return undefined;
      presentRemotely.add(key);
      const got = await link.reach(() => downloadEntry(link.remote, local, key, result, trust, options.budgets));
      if (got === OFF) return undefined;
      const record: ActionRecord = {
        kiln: 'action/v1', outputTree: got.outputTree, log: got.log, exitCode: 0, durationMs: 0, createdAt: new Date().toISOString(),
        origin: { ...origin, ...got.admission },
      };
      await local.putAction(key, record);
      link.emit({ type: 'hit', actionKey: key, ...labelled(lookup.label), admission: got.admission, fetchedBlobs: got.fetchedBlobs, fetchedBytes: got.fetchedBytes });
      return record;
    } catch (err) {
      if (!isRefusal(err)) throw err;
      link.emit({ type: 'refused', actionKey: key, ...labelled(lookup.label), code: err.code, reason: err.message });
      return undefined;
    }
  }

  async function putAction(key: Digest, record: ActionRecord, lookup?: ActionLookup): Promise<void> {
    await local.putAction(key, record);
    // A result that came from elsewhere is not ours to sign; one made here goes up.
    if (!options.upload || record.origin !== undefined || lookup?.keyMaterial === undefined) return;
    if (!signer && presentRemotely.has(key)) return;
    try {
      const share = { actionKey: key, keyMaterial: lookup.keyMaterial, outputTree: record.outputTree, log: record.log };
      const report = await link.reach(() => uploadEntry(link.remote, local, share, signer));
      if (report !== OFF) link.emit({ type: 'uploaded', actionKey: key, ...labelled(lookup.label), signed: signer !== undefined, report });
    } catch (err) {
      if (!isRefusal(err)) throw err;
      link.emit({ type: 'failed', what: 'uploading the result', ...labelled(lookup.label), code: err.code, reason: err.message });
    }
  }

  return { getAction, putAction };
}
