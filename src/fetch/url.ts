import type { UrlInputSpec } from '../recipe/types.js';
import type { Store } from '../store/types.js';
import { inputError } from './errors.js';
import type { Fetched } from './fetched.js';
import { DEFAULT_URL_TIMEOUT_MS, httpGet, httpUrlProblem, redactUrl } from './http.js';
import type { FetchOptions } from './types.js';

export { DEFAULT_URL_TIMEOUT_MS, MAX_REDIRECTS } from './http.js';

export interface UrlFetchSettings {
  timeoutMs?: number;
}

/**
 * GET with up to MAX_REDIRECTS redirects (never from https down to http), then the body
 * streams into the store, verified against the input's SRI while written.
 */
export async function fetchUrl(store: Store, spec: UrlInputSpec, options: FetchOptions, settings: UrlFetchSettings = {}): Promise<Fetched> {
  const problem = httpUrlProblem(spec.url);
  if (problem) throw inputError(spec, 'KILN_FETCH_UNSUPPORTED', problem);
  const got = await httpGet(new URL(spec.url), { timeoutMs: settings.timeoutMs ?? DEFAULT_URL_TIMEOUT_MS, signal: options.signal });
  if (!got.ok) {
    throw inputError(spec, got.code, got.reason, {
      ...(got.cause !== undefined && { cause: got.cause }),
      ...(got.status !== undefined && { expected: '200', found: String(got.status) }),
    });
  }
  const { response, url, total } = got;
  const put = await store.putStream(response, {
    integrity: spec.integrity,
    signal: options.signal,
    onProgress: (n) => options.onProgress?.(spec.name, n, total),
  }).catch((err: unknown) => {
    // Errors of the body stream itself (reset, timeout) are network errors; store errors pass on.
    if ((err as { code?: string }).code?.startsWith('KILN_')) throw err;
    throw inputError(spec, 'KILN_FETCH_NETWORK', `fetching ${redactUrl(url)} failed: ${(err as Error).message}`, { cause: err });
  });
  return { digest: put.digest, size: put.size, mount: { kind: 'file', digest: put.digest, size: put.size, executable: false } };
}
