import * as grpc from '@grpc/grpc-js';
import { type CallOptions, type Connection, toReapiError } from './connection.js';
import { assertReapiDigest, type ReapiDigest } from './digest.js';
import { ReapiError, type RemoteCancel } from './errors.js';
import type { ActionResult, AnyMessage, ExecuteOperationMetadata, ExecuteResponse, ExecutionStage, Operation } from './messages.js';
import { decode, REAPI_PACKAGE } from './proto.js';
import { abortedError, backoffDelay, isRetriableCode, sleep } from './retry.js';

export interface ExecuteOptions {
  /** Run even when the action cache has a result (ExecuteRequest.skip_cache_lookup). */
  skipCacheLookup?: boolean;
  /** Cancels the wait and asks the farm to cancel the operation (see `execute`). */
  signal?: AbortSignal;
  /** Called on every stage the farm reports (CACHE_CHECK, QUEUED, EXECUTING, COMPLETED). */
  onStage?: (stage: ExecutionStage, operationName: string, metadata: ExecuteOperationMetadata | undefined) => void;
  /** ExecutionPolicy.priority (lower runs sooner on servers that honour it). */
  priority?: number;
}

export interface ExecuteOutcome {
  /** The operation's name: what WaitExecution takes, and what a farm's UI shows. */
  operationName: string;
  result: ActionResult;
  /** True when the farm answered from its action cache without running anything. */
  cachedResult: boolean;
  /** The farm's message to a person (Buildbarn: a link to its browser). */
  message: string;
}

const EXECUTE_RPC = 'Execution.Execute';
const WAIT_RPC = 'Execution.WaitExecution';
const TYPE_PREFIX = 'type.googleapis.com/';

function unpack<T>(any: AnyMessage, fullName: string, what: string): T {
  if (any.type_url !== `${TYPE_PREFIX}${fullName}`) {
    throw new ReapiError('KILN_REAPI_BAD_RESPONSE', `${what} is a ${any.type_url || '(no type)'}, not a ${fullName}`);
  }
  try {
    return decode<T>(fullName, any.value);
  } catch (err) {
    throw new ReapiError('KILN_REAPI_BAD_RESPONSE', `${what} does not decode as ${fullName}`, { cause: err });
  }
}

/** The outcome of a finished operation, or the error it carries; pure. */
export function outcomeOf(op: Operation): ExecuteOutcome {
  if (op.error && op.error.code !== grpc.status.OK) {
    throw new ReapiError('KILN_REAPI_EXECUTION', `operation ${op.name} failed: ${grpc.status[op.error.code] ?? op.error.code} ${op.error.message}`, { grpcCode: op.error.code, rpc: EXECUTE_RPC, operationName: op.name });
  }
  if (!op.response) throw new ReapiError('KILN_REAPI_BAD_RESPONSE', `operation ${op.name} is done but carries neither a response nor an error`);
  const res = unpack<ExecuteResponse>(op.response, `${REAPI_PACKAGE}.ExecuteResponse`, `the response of operation ${op.name}`);
  if (res.status && res.status.code !== grpc.status.OK) {
    // A timed-out action may still carry a partial result (its logs): keep it for the caller.
    throw new ReapiError('KILN_REAPI_EXECUTION', `operation ${op.name} did not finish: ${grpc.status[res.status.code] ?? res.status.code} ${res.status.message}`, {
      grpcCode: res.status.code, rpc: EXECUTE_RPC, operationName: op.name, ...(res.result && { partialResult: res.result }),
    });
  }
  if (!res.result) throw new ReapiError('KILN_REAPI_BAD_RESPONSE', `operation ${op.name} finished without an ActionResult`);
  return { operationName: op.name, result: res.result, cachedResult: res.cachedResult, message: res.message };
}

function stageOf(op: Operation): ExecuteOperationMetadata | undefined {
  if (!op.metadata || op.metadata.value.length === 0) return undefined;
  try {
    return unpack<ExecuteOperationMetadata>(op.metadata, `${REAPI_PACKAGE}.ExecuteOperationMetadata`, `the metadata of operation ${op.name}`);
  } catch {
    return undefined; // progress is informative: a server's own metadata type must not fail the action
  }
}

/**
 * Asks the farm to cancel an operation through google.longrunning.Operations.CancelOperation,
 * the API's own way. Buildbarn does not serve that service (UNIMPLEMENTED): there the operation
 * is cancelled when no client waits for it any more, one minute after the last Execute or
 * WaitExecution stream closed (bb_scheduler's OperationWithNoWaitersTimeout), and its worker
 * then stops the command. docs/remote-execution.md says more.
 */
export async function cancelOperation(conn: Connection, name: string): Promise<RemoteCancel> {
  try {
    await conn.unary(conn.stubs.operations, 'cancelOperation', { name }, 'Operations.CancelOperation', { deadlineMs: 5000 });
    return 'cancelled';
  } catch (err) {
    return (err as ReapiError).grpcCode === grpc.status.UNIMPLEMENTED ? 'unimplemented' : 'failed';
  }
}

/**
 * Execute, then follow the operation to its end. The stream is followed again with
 * WaitExecution when it ends early or breaks with UNAVAILABLE (backing off between tries); an
 * operation the server no longer knows (NOT_FOUND, e.g. a scheduler restart) is submitted anew,
 * which is safe because an Action is a pure function of its digest. Aborting `signal` closes the
 * stream, asks the farm to cancel (`cancelOperation`) and rejects with KILN_REAPI_ABORTED whose
 * `remoteCancel` says how the farm answered.
 */
export async function execute(conn: Connection, actionDigest: ReapiDigest, options: ExecuteOptions = {}): Promise<ExecuteOutcome> {
  assertReapiDigest(actionDigest, 'the action digest');
  const { signal } = options;
  let name: string | undefined;
  let current: grpc.ClientReadableStream<Operation> | undefined;
  const onAbort = () => current?.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // Failures in a row: reset whenever the farm streams an operation, so a long wait survives
    // any number of separate hiccups but not a farm that stays down.
    let failures = 0;
    for (;;) {
      if (signal?.aborted) throw abortedError(signal, EXECUTE_RPC);
      const rpc = name ? WAIT_RPC : EXECUTE_RPC;
      // No deadline: an action may queue and run for hours; the stream's end or break is the signal.
      current = name
        ? (conn.stubs.execution.waitExecution({ name }, conn.metadata(), {}) as grpc.ClientReadableStream<Operation>)
        : (conn.stubs.execution.execute(
            {
              instanceName: conn.instanceName,
              actionDigest,
              skipCacheLookup: options.skipCacheLookup ?? false,
              ...(options.priority !== undefined && { executionPolicy: { priority: options.priority } }),
              digestFunction: 'SHA256',
            },
            conn.metadata(),
            {},
          ) as grpc.ClientReadableStream<Operation>);
      try {
        for await (const op of current) {
          if (!op.name) throw new ReapiError('KILN_REAPI_BAD_RESPONSE', `${rpc} streamed an operation without a name`);
          name = op.name;
          failures = 0;
          if (op.done) return outcomeOf(op);
          const meta = stageOf(op);
          options.onStage?.(meta?.stage ?? 'UNKNOWN', op.name, meta);
        }
        // The stream ended before the operation did: follow it with WaitExecution (REAPI v2, "Execute").
      } catch (err) {
        if (err instanceof ReapiError) throw err;
        const e = toReapiError(err, rpc, signal);
        if (e.code === 'KILN_REAPI_ABORTED') throw e;
        failures++;
        if (e.code === 'KILN_REAPI_NOT_FOUND' && rpc === WAIT_RPC) {
          name = undefined; // the farm forgot the operation: submit the action again
        } else if (!isRetriableCode(e.grpcCode) || failures >= conn.retry.maxAttempts) {
          throw e;
        }
      }
      await sleep(backoffDelay(Math.min(Math.max(failures, 1), 6), conn.retry), signal);
    }
  } catch (err) {
    if ((err as ReapiError).code !== 'KILN_REAPI_ABORTED') throw err;
    current?.cancel();
    const remoteCancel: RemoteCancel = name ? await cancelOperation(conn, name) : 'no-operation';
    throw new ReapiError('KILN_REAPI_ABORTED', `${EXECUTE_RPC} cancelled${name ? ` (operation ${name})` : ''}`, {
      cause: (err as ReapiError).cause, ...(name && { operationName: name }), remoteCancel,
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    current?.cancel();
  }
}

/** The action result in the farm's cache, or undefined (NOT_FOUND is a miss, not an error). */
export async function getActionResult(conn: Connection, actionDigest: ReapiDigest, options?: CallOptions & { inlineStdout?: boolean; inlineStderr?: boolean }): Promise<ActionResult | undefined> {
  assertReapiDigest(actionDigest, 'the action digest');
  try {
    return await conn.unary<ActionResult>(conn.stubs.ac, 'getActionResult', {
      instanceName: conn.instanceName,
      actionDigest,
      inlineStdout: options?.inlineStdout ?? false,
      inlineStderr: options?.inlineStderr ?? false,
      digestFunction: 'SHA256',
    }, 'ActionCache.GetActionResult', options);
  } catch (err) {
    if ((err as ReapiError).code === 'KILN_REAPI_NOT_FOUND') return undefined;
    throw err;
  }
}

/** Stores `result` as the farm's cached result of `actionDigest`; returns what the server kept. */
export async function updateActionResult(conn: Connection, actionDigest: ReapiDigest, result: Partial<ActionResult>, options?: CallOptions): Promise<ActionResult> {
  assertReapiDigest(actionDigest, 'the action digest');
  return conn.unary<ActionResult>(conn.stubs.ac, 'updateActionResult', {
    instanceName: conn.instanceName,
    actionDigest,
    actionResult: result,
    digestFunction: 'SHA256',
  }, 'ActionCache.UpdateActionResult', options);
}
