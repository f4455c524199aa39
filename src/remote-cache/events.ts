import type { UploadReport } from '../reapi/cas.js';
import type { Digest } from '../util/digest.js';
import type { Admission } from './entry.js';

/** What the shared cache did, for displays and tests; the build goes on whatever happens. */
export type RemoteCacheEvent =
  /** An entry was admitted and brought into the local store: the step does not run. */
  | { type: 'hit'; actionKey: Digest; label?: string; admission: Admission; fetchedBlobs: number; fetchedBytes: number }
  /** An entry was refused (`code` says why: unsigned, untrusted, mismatch, bad entry, wrong bytes): the step runs. */
  | { type: 'refused'; actionKey: Digest; label?: string; code: string; reason: string }
  | { type: 'uploaded'; actionKey: Digest; label?: string; signed: boolean; report: UploadReport }
  /** Pinned blobs shared at the end of a run. */
  | { type: 'shared'; blobs: number; report: UploadReport }
  | { type: 'unreachable'; reason: string }
  | { type: 'failed'; what: string; label?: string; code?: string; reason: string };
