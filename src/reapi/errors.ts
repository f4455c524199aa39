import { KilnError, type KilnErrorOptions } from '../util/errors.js';
import type { ActionResult } from './messages.js';

/** How a remote cancellation went: Operations.CancelOperation answered, or why it did not. */
export type RemoteCancel = 'cancelled' | 'unimplemented' | 'failed' | 'no-operation';

/**
 * Codes of the REAPI family: everything that goes wrong between kiln and a remote build farm.
 * - KILN_REAPI_BAD_ENDPOINT: the endpoint URL or a client option is unusable (the message says which).
 * - KILN_REAPI_UNAVAILABLE: the server did not answer (refused, reset, overloaded) after every retry.
 * - KILN_REAPI_DEADLINE: a call's deadline passed.
 * - KILN_REAPI_ABORTED: cancelled through the caller's AbortSignal.
 * - KILN_REAPI_NOT_FOUND: the server has no such blob, action result or operation.
 * - KILN_REAPI_RPC: the server answered with another gRPC error (`grpcCode` says which).
 * - KILN_REAPI_INTEGRITY: bytes received do not match the digest they were asked for.
 * - KILN_REAPI_BAD_RESPONSE: an answer that breaks the API's rules (a Tree whose directories are
 *   missing or unsafe, an operation without a result) or goes over a budget.
 * - KILN_REAPI_BAD_TREE: kiln trees and layers that cannot become an input root (a file where a
 *   folder must be).
 * - KILN_REAPI_UNSUPPORTED: the server lacks what kiln needs (sha256, execution).
 * - KILN_REAPI_EXECUTION: the farm could not finish the action (ExecuteResponse.status or
 *   Operation.error: timeout, worker lost, cancelled). A command that ran and exited non-zero is
 *   not an error: its exit code is in the result.
 */
export type ReapiErrorCode =
  | 'KILN_REAPI_BAD_ENDPOINT'
  | 'KILN_REAPI_UNAVAILABLE'
  | 'KILN_REAPI_DEADLINE'
  | 'KILN_REAPI_ABORTED'
  | 'KILN_REAPI_NOT_FOUND'
  | 'KILN_REAPI_RPC'
  | 'KILN_REAPI_INTEGRITY'
  | 'KILN_REAPI_BAD_RESPONSE'
  | 'KILN_REAPI_BAD_TREE'
  | 'KILN_REAPI_UNSUPPORTED'
  | 'KILN_REAPI_EXECUTION';

export interface ReapiErrorOptions extends KilnErrorOptions {
  /** The gRPC status code behind the error, when there is one (14 UNAVAILABLE, 4 DEADLINE_EXCEEDED…). */
  grpcCode?: number;
  /** The RPC that failed, e.g. `ContentAddressableStorage.BatchReadBlobs`. */
  rpc?: string;
  /** The remote operation concerned (Execute errors). */
  operationName?: string;
  /** KILN_REAPI_ABORTED of an Execute: what the farm said to the cancellation. */
  remoteCancel?: RemoteCancel;
  /** KILN_REAPI_EXECUTION: what the action left before it was stopped (logs of a timed-out command). */
  partialResult?: ActionResult;
}

export class ReapiError extends KilnError {
  readonly grpcCode?: number;
  readonly rpc?: string;
  readonly operationName?: string;
  readonly remoteCancel?: RemoteCancel;
  readonly partialResult?: ActionResult;

  constructor(readonly code: ReapiErrorCode, message: string, options: ReapiErrorOptions = {}) {
    super(message, options);
    this.grpcCode = options.grpcCode;
    this.rpc = options.rpc;
    this.operationName = options.operationName;
    this.remoteCancel = options.remoteCancel;
    this.partialResult = options.partialResult;
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      ...(this.grpcCode !== undefined && { grpcCode: this.grpcCode }),
      ...(this.rpc && { rpc: this.rpc }),
      ...(this.operationName && { operationName: this.operationName }),
      ...(this.remoteCancel && { remoteCancel: this.remoteCancel }),
    };
  }
}
