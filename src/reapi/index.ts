export { createReapiClient, storeBlobOpener } from './client.js';
export type { BlobOpener, ReapiClient, RemoteActionRun, RemoteActionSpec } from './client.js';
export type { CallOptions, ReapiClientOptions, ReapiTlsOptions } from './connection.js';
export { REQUEST_METADATA_KEY } from './connection.js';
export { ReapiError } from './errors.js';
export type { ReapiErrorCode, ReapiErrorOptions, RemoteCancel } from './errors.js';
export { EMPTY_DIGEST, digestKey, digestOfBytes, fromReapiDigest, isReapiDigest, toReapiDigest } from './digest.js';
export type { ReapiDigest } from './digest.js';
export { formatEndpoint, parseEndpoint } from './endpoint.js';
export type { ReapiEndpoint } from './endpoint.js';
export { encodeAction, encodeCommand } from './action.js';
export type { ActionSpec, CommandSpec, EncodedMessage } from './action.js';
export { buildMerkleTree, merkleBlobs, merkleTreeMessage } from './merkle.js';
export type { InputLayer, MerkleFile, MerkleTree } from './merkle.js';
export { treeEntriesFromMessage } from './output.js';
export type { FetchedOutput, FetchOutputOptions, OutputStore } from './output.js';
export { planBatches } from './cas.js';
export type { BlobSource, ReadOptions, UploadReport } from './cas.js';
export type { ExecuteOptions, ExecuteOutcome } from './execute.js';
export { DEFAULT_RETRY, backoffDelay, isRetriableCode } from './retry.js';
export type { RetryOptions } from './retry.js';
export type {
  ActionResult,
  ExecutedActionMetadata,
  ExecuteOperationMetadata,
  ExecutionStage,
  OutputDirectory,
  OutputFile,
  OutputSymlink,
  ServerCapabilities,
  Timestamp,
} from './messages.js';
