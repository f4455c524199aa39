import { PassThrough, pipeline, type Readable } from 'node:stream';
import type { Cas } from '../store/index.js';
import type { Digest } from '../util/digest.js';
import { type CommandSpec, type EncodedMessage, encodeAction, encodeCommand } from './action.js';
import { readByteStream } from './bytestream.js';
import { type BlobSource, findMissingBlobs, type ReadOptions, readBlobs, uploadBlobs, uploadMissing, type UploadReport } from './cas.js';
import { type CallOptions, createConnection, type ReapiClientOptions } from './connection.js';
import { digestKey, type ReapiDigest, toReapiDigest } from './digest.js';
import { formatEndpoint } from './endpoint.js';
import { execute, type ExecuteOptions, type ExecuteOutcome, getActionResult, updateActionResult } from './execute.js';
import { buildMerkleTree, type InputLayer, type MerkleTree } from './merkle.js';
import type { ActionResult, ServerCapabilities } from './messages.js';
import { fetchOutputDirectory, type FetchedOutput, type FetchOutputOptions, type OutputStore } from './output.js';

/** Opens a kiln blob at a byte offset (what an input root's files are read from). */
export type BlobOpener = (digest: Digest, offset: number) => Readable;

/** Reads blobs from a kiln store, at any offset (an interrupted upload resumes where it broke). */
export function storeBlobOpener(store: Pick<Cas, 'openRandomAccess'>): BlobOpener {
  return (digest, offset) => {
    const out = new PassThrough();
    store.openRandomAccess(digest).then(
      (blob) => {
        // A range stream does not close its file (the blob may serve several): close the blob
        // once the range ended, failed or its reader went away.
        pipeline(blob.stream(offset, blob.size), out, () => void blob.close().catch(() => undefined));
      },
      (err: unknown) => out.destroy(err as Error),
    );
    return out;
  };
}

export interface RemoteActionSpec {
  /** The input root: the image tree at '', inputs at kiln/inputs/<name>, needed steps at kiln/steps/<name>… */
  layers: InputLayer[];
  command: CommandSpec;
  /** Platform properties the farm's workers must advertise (kiln's test cluster: OSFamily=linux). */
  platform?: Record<string, string>;
  timeoutMs?: number;
  doNotCache?: boolean;
  /** Makes the Action's digest differ from an otherwise equal one (REAPI `salt`). */
  salt?: Uint8Array;
  /** Where the files of `layers` are read from when the farm lacks them. */
  open: BlobOpener;
}

export interface RemoteActionRun extends ExecuteOutcome {
  actionDigest: ReapiDigest;
  inputRoot: ReapiDigest;
  /** What the upload of the input root, Command and Action moved. */
  upload: UploadReport;
}

/** A REAPI v2 client: one channel to one farm endpoint and instance. */
export interface ReapiClient {
  /** The endpoint as a URL (grpc[s]://host:port[/instance]). */
  readonly endpoint: string;
  readonly instanceName: string;
  capabilities(options?: CallOptions): Promise<ServerCapabilities>;
  findMissingBlobs(digests: ReapiDigest[], options?: CallOptions): Promise<ReapiDigest[]>;
  /** Uploads what the server lacks of `blobs` (FindMissingBlobs first). */
  uploadMissing(blobs: BlobSource[], options?: CallOptions): Promise<UploadReport>;
  /** Uploads `blobs` without asking: batches within the server's limit, ByteStream beyond. */
  uploadBlobs(blobs: BlobSource[], options?: CallOptions): Promise<{ uploadedBytes: number; streamed: number }>;
  /** Reads blobs into memory, verified; keys are `hash/size`. */
  readBlobs(digests: ReapiDigest[], options?: ReadOptions): Promise<Map<string, Buffer>>;
  readBlob(digest: ReapiDigest, options?: ReadOptions): Promise<Buffer>;
  /** A blob as a stream through ByteStream, verified by its end. */
  openBlobStream(digest: ReapiDigest, options?: CallOptions): Readable;
  getActionResult(actionDigest: ReapiDigest, options?: CallOptions & { inlineStdout?: boolean; inlineStderr?: boolean }): Promise<ActionResult | undefined>;
  updateActionResult(actionDigest: ReapiDigest, result: Partial<ActionResult>, options?: CallOptions): Promise<ActionResult>;
  execute(actionDigest: ReapiDigest, options?: ExecuteOptions): Promise<ExecuteOutcome>;
  /** Uploads the Merkle tree's missing blobs (directories from memory, files through `open`). */
  uploadInputRoot(tree: MerkleTree, open: BlobOpener, extra?: EncodedMessage[], options?: CallOptions): Promise<UploadReport>;
  /**
   * Builds the Action; answers from the action cache when it holds a result (unless
   * `skipCacheLookup` or `doNotCache`); else uploads what the farm lacks, executes and follows
   * the operation to its end.
   */
  runAction(spec: RemoteActionSpec, options?: ExecuteOptions): Promise<RemoteActionRun>;
  /** Brings an output folder of a result into kiln's store as a kiln tree. */
  fetchOutputDirectory(result: ActionResult, path: string, store: OutputStore, options?: FetchOutputOptions): Promise<FetchedOutput>;
  /** stdout and stderr of a result (inline bytes, else fetched by digest). */
  readLogs(result: ActionResult, options?: ReadOptions): Promise<{ stdout: Buffer; stderr: Buffer }>;
  close(): void;
}

/**
 * A client for a REAPI v2 farm (Buildbarn, BuildBuddy, NativeLink…). Nothing is dialled until
 * the first call. `close()` ends the channel.
 */
export function createReapiClient(options: ReapiClientOptions): ReapiClient {
  const conn = createConnection(options);

  const readBlob = async (digest: ReapiDigest, o?: ReadOptions) => (await readBlobs(conn, [digest], o)).get(digestKey(digest))!;

  const uploadInputRoot = (tree: MerkleTree, open: BlobOpener, extra: EncodedMessage[] = [], o?: CallOptions) => {
    const sources: BlobSource[] = [
      ...[...tree.directories.values()].map((d) => ({ digest: d.digest, bytes: d.bytes })),
      ...[...tree.files.values()].map((f) => ({ digest: toReapiDigest(f.digest, f.size), open: (offset: number) => open(f.digest, offset) })),
      ...extra.map((m) => ({ digest: m.digest, bytes: m.bytes })),
    ];
    return uploadMissing(conn, sources, o);
  };

  const readLogs = async (result: ActionResult, o?: ReadOptions) => {
    const want = [result.stdoutDigest, result.stderrDigest].filter((d): d is ReapiDigest => !!d && d.sizeBytes > 0);
    const got = want.length > 0 ? await readBlobs(conn, want, o) : new Map<string, Buffer>();
    const pick = (raw: Buffer, d: ReapiDigest | null | undefined) => (raw.length > 0 || !d ? raw : got.get(digestKey(d)) ?? Buffer.alloc(0));
    return { stdout: pick(result.stdoutRaw, result.stdoutDigest), stderr: pick(result.stderrRaw, result.stderrDigest) };
  };

  return {
    endpoint: formatEndpoint(conn.endpoint),
    instanceName: conn.instanceName,
    capabilities: (o) => conn.capabilities(o),
    findMissingBlobs: (digests, o) => findMissingBlobs(conn, digests, o),
    uploadMissing: (blobs, o) => uploadMissing(conn, blobs, o),
    uploadBlobs: (blobs, o) => uploadBlobs(conn, blobs, o),
    readBlobs: (digests, o) => readBlobs(conn, digests, o),
    readBlob,
    openBlobStream: (digest, o) => readByteStream(conn, digest, o),
    getActionResult: (d, o) => getActionResult(conn, d, o),
    updateActionResult: (d, r, o) => updateActionResult(conn, d, r, o),
    execute: (d, o) => execute(conn, d, o),
    uploadInputRoot,
    async runAction(spec, o = {}) {
      const tree = buildMerkleTree(spec.layers);
      const command = encodeCommand({ ...spec.command, platform: spec.command.platform ?? spec.platform });
      const action = encodeAction({
        command: command.digest,
        inputRoot: tree.root,
        ...(spec.platform && { platform: spec.platform }),
        ...(spec.timeoutMs !== undefined && { timeoutMs: spec.timeoutMs }),
        ...(spec.doNotCache && { doNotCache: true }),
        ...(spec.salt && { salt: spec.salt }),
      });
      const call = o.signal ? { signal: o.signal } : undefined;
      // Buildbarn's Execute does not consult the action cache (its clients do, as Bazel does):
      // look there first, unless told not to or the action must not be cached.
      if (!o.skipCacheLookup && !spec.doNotCache) {
        const cached = await getActionResult(conn, action.digest, call);
        if (cached) {
          const upload = { blobs: 0, missing: 0, uploadedBytes: 0, streamed: 0 };
          return { operationName: '', result: cached, cachedResult: true, message: '', actionDigest: action.digest, inputRoot: tree.root, upload };
        }
      }
      const upload = await uploadInputRoot(tree, spec.open, [command, action], call);
      const outcome = await execute(conn, action.digest, o);
      return { ...outcome, actionDigest: action.digest, inputRoot: tree.root, upload };
    },
    fetchOutputDirectory: (result, path, store, o) => fetchOutputDirectory(conn, result, path, store, o),
    readLogs,
    close: () => conn.close(),
  };
}
