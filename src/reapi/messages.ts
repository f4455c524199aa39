import type { ReapiDigest } from './digest.js';

/*
 * The REAPI messages as src/reapi sees them once decoded: camelCase fields, int64 as number (sizes
 * and offsets stay far below 2^53), enums as their names, bytes as Buffer, defaults filled in.
 * Field meanings are the API's (proto/build/bazel/remote/execution/v2/remote_execution.proto).
 */

export interface Timestamp {
  seconds: number;
  nanos: number;
}

export interface Duration {
  seconds: number;
  nanos: number;
}

export interface RpcStatus {
  code: number;
  message: string;
  details: AnyMessage[];
}

export interface PlatformProperty {
  name: string;
  value: string;
}

export interface FileNode {
  name: string;
  digest: ReapiDigest;
  isExecutable: boolean;
}

export interface DirectoryNode {
  name: string;
  digest: ReapiDigest;
}

export interface SymlinkNode {
  name: string;
  target: string;
}

export interface Directory {
  files: FileNode[];
  directories: DirectoryNode[];
  symlinks: SymlinkNode[];
}

export interface ExecutedActionMetadata {
  worker: string;
  queuedTimestamp?: Timestamp | null;
  workerStartTimestamp?: Timestamp | null;
  workerCompletedTimestamp?: Timestamp | null;
  inputFetchStartTimestamp?: Timestamp | null;
  inputFetchCompletedTimestamp?: Timestamp | null;
  executionStartTimestamp?: Timestamp | null;
  executionCompletedTimestamp?: Timestamp | null;
  outputUploadStartTimestamp?: Timestamp | null;
  outputUploadCompletedTimestamp?: Timestamp | null;
  virtualExecutionDuration?: Duration | null;
}

export interface OutputFile {
  path: string;
  digest: ReapiDigest;
  isExecutable: boolean;
  contents: Buffer;
}

export interface OutputDirectory {
  path: string;
  treeDigest: ReapiDigest;
  isTopologicallySorted: boolean;
  rootDirectoryDigest?: ReapiDigest | null;
}

export interface OutputSymlink {
  path: string;
  target: string;
}

export interface ActionResult {
  outputFiles: OutputFile[];
  outputDirectories: OutputDirectory[];
  outputSymlinks: OutputSymlink[];
  /** Deprecated since v2.1, still sent by some servers: read together with outputSymlinks. */
  outputFileSymlinks: OutputSymlink[];
  outputDirectorySymlinks: OutputSymlink[];
  exitCode: number;
  stdoutRaw: Buffer;
  stdoutDigest?: ReapiDigest | null;
  stderrRaw: Buffer;
  stderrDigest?: ReapiDigest | null;
  executionMetadata?: ExecutedActionMetadata | null;
}

export interface LogFile {
  digest: ReapiDigest;
  humanReadable: boolean;
}

export interface ExecuteResponse {
  result?: ActionResult | null;
  cachedResult: boolean;
  status?: RpcStatus | null;
  serverLogs: Record<string, LogFile>;
  message: string;
}

export type ExecutionStage = 'UNKNOWN' | 'CACHE_CHECK' | 'QUEUED' | 'EXECUTING' | 'COMPLETED';

export interface ExecuteOperationMetadata {
  stage: ExecutionStage;
  actionDigest?: ReapiDigest | null;
  stdoutStreamName: string;
  stderrStreamName: string;
  partialExecutionMetadata?: ExecutedActionMetadata | null;
}

/** google.protobuf.Any: protobufjs's bundled definition keeps the proto field name `type_url`. */
export interface AnyMessage {
  type_url: string;
  value: Buffer;
}

export interface Operation {
  name: string;
  metadata?: AnyMessage | null;
  done: boolean;
  error?: RpcStatus | null;
  response?: AnyMessage | null;
  result?: 'error' | 'response';
}

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  prerelease: string;
}

export interface ServerCapabilities {
  cacheCapabilities?: {
    digestFunctions: string[];
    actionCacheUpdateCapabilities?: { updateEnabled: boolean } | null;
    maxBatchTotalSizeBytes: number;
    symlinkAbsolutePathStrategy: 'UNKNOWN' | 'DISALLOWED' | 'ALLOWED';
    supportedCompressors: string[];
    supportedBatchUpdateCompressors: string[];
    maxCasBlobSizeBytes: number;
  } | null;
  executionCapabilities?: {
    digestFunction: string;
    execEnabled: boolean;
    supportedNodeProperties: string[];
    digestFunctions: string[];
  } | null;
  deprecatedApiVersion?: SemVer | null;
  lowApiVersion?: SemVer | null;
  highApiVersion?: SemVer | null;
}
