import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { UrlInputSpec } from '../recipe/types.js';
import type { Store } from '../store/types.js';
import { FetchError, inputError } from './errors.js';
import type { Fetched } from './fetched.js';
import type { FetchOptions } from './types.js';

export const MAX_REDIRECTS = 5;
/** Socket inactivity (connect, headers, or a stalled body) after which a download fails. */
export const DEFAULT_URL_TIMEOUT_MS = 30_000;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface UrlFetchSettings {
  timeoutMs?: number;
}

function parseUrl(spec: UrlInputSpec, text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    throw inputError(spec, 'KILN_FETCH_UNSUPPORTED', `not a URL: ${text}`, { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw inputError(spec, 'KILN_FETCH_UNSUPPORTED', `only http and https URLs are fetched, not ${url.protocol}`);
  }
  return url;
}

function networkError(spec: UrlInputSpec, url: URL, err: unknown): FetchError {
  const message = err instanceof Error ? err.message : String(err);
  return inputError(spec, 'KILN_FETCH_NETWORK', `fetching ${url.href} failed: ${message}`, { cause: err });
}

/** One GET; resolves on the response head. The timeout covers the body too (socket inactivity). */
function get(spec: UrlInputSpec, url: URL, timeoutMs: number, signal?: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    // identity: the bytes pinned are the bytes served, never a transparently decoded variant.
    const request = client.get(url, { headers: { 'accept-encoding': 'identity', 'user-agent': 'kiln' }, signal, timeout: timeoutMs });
    request.on('timeout', () => request.destroy(new Error(`no data for ${timeoutMs} ms`)));
    request.on('error', (err) => reject(signal?.aborted ? err : networkError(spec, url, err)));
    request.on('response', resolve);
  });
}

/**
 * GET with up to MAX_REDIRECTS redirects (never from https down to http), then the body
 * streams into the store, verified against the input's SRI while written.
 */
export async function fetchUrl(store: Store, spec: UrlInputSpec, options: FetchOptions, settings: UrlFetchSettings = {}): Promise<Fetched> {
  const timeoutMs = settings.timeoutMs ?? DEFAULT_URL_TIMEOUT_MS;
  let url = parseUrl(spec, spec.url);
  let response: IncomingMessage;
  for (let redirects = 0; ; redirects++) {
    response = await get(spec, url, timeoutMs, options.signal);
    const status = response.statusCode ?? 0;
    if (!REDIRECTS.has(status)) break;
    response.resume();
    const location = response.headers.location;
    if (!location) throw inputError(spec, 'KILN_FETCH_HTTP', `${url.href} answered ${status} without a Location`);
    if (redirects === MAX_REDIRECTS) throw inputError(spec, 'KILN_FETCH_HTTP', `more than ${MAX_REDIRECTS} redirects from ${spec.url}`);
    const next = parseUrl(spec, new URL(location, url).href);
    if (url.protocol === 'https:' && next.protocol === 'http:') {
      throw inputError(spec, 'KILN_FETCH_HTTP', `refusing a redirect from https to http (${next.href})`);
    }
    url = next;
  }
  const status = response.statusCode ?? 0;
  if (status !== 200) {
    response.resume();
    throw inputError(spec, 'KILN_FETCH_HTTP', `${url.href} answered HTTP ${status}`, { expected: '200', found: String(status) });
  }
  const lengthHeader = Number(response.headers['content-length']);
  const total = Number.isSafeInteger(lengthHeader) ? lengthHeader : undefined;
  const put = await store.putStream(response, {
    integrity: spec.integrity,
    signal: options.signal,
    onProgress: (n) => options.onProgress?.(spec.name, n, total),
  }).catch((err: unknown) => {
    // Errors of the body stream itself (reset, timeout) are network errors; store errors pass on.
    if ((err as { code?: string }).code?.startsWith('KILN_')) throw err;
    throw networkError(spec, url, err);
  });
  return { digest: put.digest, size: put.size, mount: { kind: 'file', digest: put.digest, size: put.size, executable: false } };
}
