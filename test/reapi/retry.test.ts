import { status } from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { backoffDelay, DEFAULT_RETRY, isRetriableCode } from '../../src/reapi/index.js';
import { ReapiError } from '../../src/reapi/index.js';
import { withRetries } from '../../src/reapi/retry.js';
import { rejectsWithCode } from '../helpers/index.js';

const Backoff = suite('backoffDelay');

Backoff('doubles from the initial delay up to the ceiling, less at most the jitter', () => {
  const options = { ...DEFAULT_RETRY, initialDelayMs: 100, maxDelayMs: 1000, jitter: 0.5 };
  assert.is(backoffDelay(1, options, () => 0), 100);
  assert.is(backoffDelay(2, options, () => 0), 200);
  assert.is(backoffDelay(5, options, () => 0), 1000);
  assert.is(backoffDelay(3, options, () => 1), 200);
});

Backoff('only UNAVAILABLE and RESOURCE_EXHAUSTED are worth another try', () => {
  assert.ok(isRetriableCode(status.UNAVAILABLE));
  assert.ok(isRetriableCode(status.RESOURCE_EXHAUSTED));
  for (const c of [status.OK, status.INVALID_ARGUMENT, status.NOT_FOUND, status.DEADLINE_EXCEEDED, status.PERMISSION_DENIED]) assert.not.ok(isRetriableCode(c));
});

const Retries = suite('withRetries');
const quick = { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 2, jitter: 0 };

Retries('tries again after UNAVAILABLE until the call succeeds', async () => {
  let calls = 0;
  const got = await withRetries(async () => {
    calls++;
    if (calls < 3) throw new ReapiError('KILN_REAPI_UNAVAILABLE', 'down', { grpcCode: status.UNAVAILABLE });
    return 'ok';
  }, quick);
  assert.is(got, 'ok');
  assert.is(calls, 3);
});

Retries('gives up after maxAttempts with the last error', async () => {
  let calls = 0;
  await rejectsWithCode(() => withRetries(async () => {
    calls++;
    throw new ReapiError('KILN_REAPI_UNAVAILABLE', 'down', { grpcCode: status.RESOURCE_EXHAUSTED });
  }, quick), 'KILN_REAPI_UNAVAILABLE');
  assert.is(calls, 4);
});

Retries('does not retry an error that would repeat', async () => {
  let calls = 0;
  await rejectsWithCode(() => withRetries(async () => {
    calls++;
    throw new ReapiError('KILN_REAPI_RPC', 'bad', { grpcCode: status.INVALID_ARGUMENT });
  }, quick), 'KILN_REAPI_RPC');
  assert.is(calls, 1);
});

Retries('an abort during the back-off ends the wait at once', async () => {
  const controller = new AbortController();
  const slow = { ...quick, initialDelayMs: 60_000, maxDelayMs: 60_000 };
  const t0 = Date.now();
  setTimeout(() => controller.abort(), 20);
  await rejectsWithCode(() => withRetries(async () => {
    throw new ReapiError('KILN_REAPI_UNAVAILABLE', 'down', { grpcCode: status.UNAVAILABLE });
  }, slow, controller.signal), 'KILN_REAPI_ABORTED');
  assert.ok(Date.now() - t0 < 5000);
});

Backoff.run();
Retries.run();
