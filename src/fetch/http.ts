import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

export const MAX_REDIRECTS = 5;
/** Socket inactivity (connect, headers, or a stalled body) after which a download fails. */
export const DEFAULT_URL_TIMEOUT_MS = 30_000;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Why a GET gave no body: kept apart from any input, so that mirrors and Debian packages share it. */
export interface HttpFailure {
  ok: false;
  code: 'KILN_FETCH_HTTP' | 'KILN_FETCH_NETWORK' | 'KILN_FETCH_UNSUPPORTED';
  reason: string;
  /** The status of an answer that was neither 200 nor a redirect. */
  status?: number;
  cause?: unknown;
}

export interface HttpBody {
  ok: true;
  response: IncomingMessage;
  /** Where the body came from, after redirects. */
  url: URL;
  /** Content-Length, when the server sent one. */
  total?: number;
}

/** `https://user:secret@cache.example/x` → `https://cache.example/x`: credentials never reach a message. */
export function redactUrl(url: URL | string): string {
  const u = new URL(String(url));
  u.username = '';
  u.password = '';
  return u.href;
}

/** Only http and https are fetched over the network; undefined when `text` is one. */
export function httpUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `not a URL: ${text}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `only http and https URLs are fetched, not ${url.protocol}`;
  return undefined;
}

/** One GET; resolves on the response head. The timeout covers the body too (socket inactivity). */
function get(url: URL, timeoutMs: number, signal?: AbortSignal): Promise<IncomingMessage | HttpFailure> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    // identity: the bytes pinned are the bytes served, never a transparently decoded variant.
    const request = client.get(url, { headers: { 'accept-encoding': 'identity', 'user-agent': 'kiln' }, signal, timeout: timeoutMs });
    request.on('timeout', () => request.destroy(new Error(`no data for ${timeoutMs} ms`)));
    request.on('error', (err) => {
      if (signal?.aborted) reject(err);
      else resolve({ ok: false, code: 'KILN_FETCH_NETWORK', reason: `fetching ${redactUrl(url)} failed: ${err.message}`, cause: err });
    });
    request.on('response', resolve);
  });
}

/**
 * GET with up to MAX_REDIRECTS redirects (never from https down to http). Resolves to the
 * response of a 200, or to why there is none; rejects only when `signal` aborts.
 */
export async function httpGet(start: URL, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<HttpBody | HttpFailure> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_URL_TIMEOUT_MS;
  let url = start;
  for (let redirects = 0; ; redirects++) {
    const response = await get(url, timeoutMs, options.signal);
    if (!(response instanceof http.IncomingMessage)) return response;
    const status = response.statusCode ?? 0;
    if (status === 200) {
      const length = Number(response.headers['content-length']);
      return { ok: true, response, url, ...(Number.isSafeInteger(length) && { total: length }) };
    }
    response.resume();
    if (!REDIRECTS.has(status)) return { ok: false, code: 'KILN_FETCH_HTTP', reason: `${redactUrl(url)} answered HTTP ${status}`, status };
    const location = response.headers.location;
    if (!location) return { ok: false, code: 'KILN_FETCH_HTTP', reason: `${redactUrl(url)} answered ${status} without a Location` };
    if (redirects === MAX_REDIRECTS) return { ok: false, code: 'KILN_FETCH_HTTP', reason: `more than ${MAX_REDIRECTS} redirects from ${redactUrl(start)}` };
    const nextText = new URL(location, url).href;
    const problem = httpUrlProblem(nextText);
    if (problem) return { ok: false, code: 'KILN_FETCH_UNSUPPORTED', reason: problem };
    const next = new URL(nextText);
    if (url.protocol === 'https:' && next.protocol === 'http:') {
      return { ok: false, code: 'KILN_FETCH_HTTP', reason: `refusing a redirect from https to http (${redactUrl(next)})` };
    }
    url = next;
  }
}
