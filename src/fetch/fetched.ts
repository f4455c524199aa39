import type { Digest } from '../util/digest.js';
import type { InputMount } from './types.js';

/** What a fetcher hands back: the pinned bytes' digest and size, and how a step sees them (before unpacking). */
export interface Fetched {
  digest: Digest;
  size: number;
  mount: InputMount;
}
