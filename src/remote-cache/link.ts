import { ReapiError } from '../reapi/errors.js';
import { StoreError } from '../store/errors.js';
import type { RemoteCacheClient } from './client.js';
import { RemoteCacheError } from './errors.js';
import type { RemoteCacheEvent } from './events.js';

/** Returned by `reach` once the server is known to be unreachable. */
export const OFF = Symbol('remote cache off');

/** One remote cache as the parts of the remote store share it: the client, its health, the event sink. */
export interface RemoteLink {
  readonly remote: RemoteCacheClient;
  emit(event: RemoteCacheEvent): void;
  /** Why the server was switched off, or undefined while it answers. */
  readonly down: string | undefined;
  /**
   * Runs a remote operation. The first time the server is unreachable (UNAVAILABLE after the
   * client's retries, or a deadline), it is switched off for the rest of the run, said once, and
   * every later call returns OFF at once: a dead cache costs one timeout, not one per step.
   */
  reach<T>(work: () => Promise<T>): Promise<T | typeof OFF>;
}

export function createLink(remote: RemoteCacheClient, emit: (event: RemoteCacheEvent) => void): RemoteLink {
  let down: string | undefined;
  return {
    remote,
    emit,
    get down() {
      return down;
    },
    async reach(work) {
      if (down !== undefined) return OFF;
      try {
        return await work();
      } catch (err) {
        if (err instanceof ReapiError && (err.code === 'KILN_REAPI_UNAVAILABLE' || err.code === 'KILN_REAPI_DEADLINE')) {
          down = err.message;
          emit({ type: 'unreachable', reason: err.message });
          return OFF;
        }
        throw err;
      }
    },
  };
}

/**
 * Errors that mean "do not use this entry or blob" (the cache refused, misbehaved or holds
 * something kiln would never write) rather than a failure of this machine or an abort.
 */
export function isRefusal(err: unknown): err is RemoteCacheError | ReapiError | StoreError {
  if (err instanceof RemoteCacheError) return true;
  if (err instanceof ReapiError) return err.code !== 'KILN_REAPI_ABORTED';
  return err instanceof StoreError && err.code !== 'KILN_STORE_ABORTED';
}
