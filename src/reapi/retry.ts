import { status as Status } from '@grpc/grpc-js';
import { ReapiError } from './errors.js';

/** How a call is retried when the server says it cannot answer now. */
export interface RetryOptions {
  /** Attempts in all, the first included (default 5). */
  maxAttempts: number;
  /** Delay before the second attempt (default 200 ms); doubles each time up to `maxDelayMs`. */
  initialDelayMs: number;
  /** Ceiling of one delay (default 5 s). */
  maxDelayMs: number;
  /** Each delay is drawn in [d × (1 − jitter), d] so that many clients do not retry in step (default 0.3). */
  jitter: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 5, initialDelayMs: 200, maxDelayMs: 5000, jitter: 0.3 };

/**
 * UNAVAILABLE (connection refused or reset, server draining) and RESOURCE_EXHAUSTED (overloaded,
 * rate limited) mean "try again later" in gRPC; anything else would fail the same way again.
 */
export function isRetriableCode(code: number | undefined): boolean {
  return code === Status.UNAVAILABLE || code === Status.RESOURCE_EXHAUSTED;
}

/** The delay before attempt `attempt + 1` (attempt counts from 1); pure given `random`. */
export function backoffDelay(attempt: number, options: RetryOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling * (1 - options.jitter * random()));
}

/** Resolves after `ms`, or rejects with KILN_REAPI_ABORTED as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortedError(signal: AbortSignal, what = 'remote call'): ReapiError {
  return new ReapiError('KILN_REAPI_ABORTED', `${what} cancelled`, { cause: signal.reason });
}

/**
 * Runs `call` until it succeeds, fails with a code that is not worth retrying, or runs out of
 * attempts; `call` gets the attempt number (from 1). Errors must carry a gRPC `grpcCode`
 * (ReapiError) or `code` (grpc-js ServiceError) for the retry decision.
 */
export async function withRetries<T>(call: (attempt: number) => Promise<T>, options: RetryOptions, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw abortedError(signal);
    try {
      return await call(attempt);
    } catch (err) {
      const code = (err as ReapiError).grpcCode ?? (err as { code?: unknown }).code;
      if (signal?.aborted) throw abortedError(signal);
      if (attempt >= options.maxAttempts || !isRetriableCode(typeof code === 'number' ? code : undefined)) throw err;
      await sleep(backoffDelay(attempt, options), signal);
    }
  }
}
