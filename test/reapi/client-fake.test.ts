import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createReapiClient, digestKey, digestOfBytes, REQUEST_METADATA_KEY, ReapiError, type ReapiDigest } from '../../src/reapi/index.js';
import { decode, encode, REAPI_PACKAGE } from '../../src/reapi/proto.js';
import { createStore } from '../../src/store/index.js';
import { makeTempDir, rejectsWithCode, throwsWithCode } from '../helpers/index.js';
import { listBlobs } from '../store/support.js';
import { capabilitiesHandler, grpcError, startFakeServer } from './fake-server.js';

type Unary = (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => void;
type ServerStream = (call: grpc.ServerWritableStream<any, any>) => void;
type ClientStream = (call: grpc.ServerReadableStream<any, any>, cb: grpc.sendUnaryData<any>) => void;

const quick = { maxAttempts: 4, initialDelayMs: 5, maxDelayMs: 20, jitter: 0 };
/** A 128 KiB batch ceiling: anything over ~64 KiB goes through ByteStream. */
const SMALL_BATCH = 128 * 1024;

const flip = (b: Buffer) => {
  const c = Buffer.from(b);
  c[0] = c[0]! ^ 0xff;
  return c;
};

/** A CAS that answers every read with `serve(digest)` — honest or not. */
function casServing(serve: (d: ReapiDigest) => Buffer) {
  const BatchReadBlobs: Unary = (call, cb) =>
    cb(null, { responses: call.request.digests.map((d: ReapiDigest) => ({ digest: d, data: serve(d), status: { code: 0 } })) });
  const Read: ServerStream = (call) => {
    const [, hash, size] = /blobs\/([0-9a-f]{64})\/(\d+)$/.exec(call.request.resourceName)!;
    const data = serve({ hash: hash!, sizeBytes: Number(size) }).subarray(Number(call.request.readOffset));
    for (let i = 0; i < data.length; i += 16384) call.write({ data: data.subarray(i, i + 16384) });
    call.end();
  };
  return { cas: { BatchReadBlobs }, byteStream: { Read } };
}

const Integrity = suite('reads are verified');

Integrity('refuses a batch read whose bytes do not match the digest', async () => {
  const good = Buffer.from('the right bytes');
  const server = await startFakeServer(casServing(() => flip(good)));
  const client = createReapiClient({ endpoint: server.endpoint, retry: quick });
  try {
    const err = await rejectsWithCode<ReapiError>(() => client.readBlob(digestOfBytes(good)), 'KILN_REAPI_INTEGRITY');
    assert.is(err.expected, digestKey(digestOfBytes(good)));
  } finally {
    client.close();
    await server.close();
  }
});

Integrity('refuses a ByteStream read with other bytes, and the store keeps nothing of it', async () => {
  const good = randomBytes(300 * 1024);
  const server = await startFakeServer(casServing(() => flip(good)));
  const client = createReapiClient({ endpoint: server.endpoint, retry: quick, maxBatchBytes: SMALL_BATCH });
  const { dir, cleanup } = await makeTempDir();
  try {
    const d = digestOfBytes(good);
    await rejectsWithCode(() => client.readBlob(d), 'KILN_REAPI_INTEGRITY');
    const store = await createStore({ root: dir });
    await rejectsWithCode(() => store.putStream(client.openBlobStream(d)), 'KILN_REAPI_INTEGRITY');
    assert.equal(await listBlobs(dir), []);
  } finally {
    client.close();
    await server.close();
    await cleanup();
  }
});

Integrity('refuses a ByteStream read that goes on past the size', async () => {
  const good = randomBytes(200 * 1024);
  const server = await startFakeServer(casServing(() => Buffer.concat([good, Buffer.from('more')])));
  const client = createReapiClient({ endpoint: server.endpoint, retry: quick, maxBatchBytes: SMALL_BATCH });
  try {
    await rejectsWithCode(() => client.readBlob(digestOfBytes(good)), 'KILN_REAPI_INTEGRITY');
  } finally {
    client.close();
    await server.close();
  }
});

Integrity('refuses a batch answer for a blob it did not ask for', async () => {
  const other = Buffer.from('not asked');
  const server = await startFakeServer({
    cas: { BatchReadBlobs: ((_call, cb) => cb(null, { responses: [{ digest: digestOfBytes(other), data: other, status: { code: 0 } }] })) as Unary },
  });
  const client = createReapiClient({ endpoint: server.endpoint, retry: quick });
  try {
    await rejectsWithCode(() => client.readBlob(digestOfBytes(Buffer.from('asked'))), 'KILN_REAPI_BAD_RESPONSE');
  } finally {
    client.close();
    await server.close();
  }
});

const Resume = suite('ByteStream resumes');

Resume('a read broken half-way goes on from the bytes received', async () => {
  const blob = randomBytes(256 * 1024);
  const offsets: number[] = [];
  const Read: ServerStream = (call) => {
    const from = Number(call.request.readOffset);
    offsets.push(from);
    if (offsets.length === 1) {
      call.write({ data: blob.subarray(0, 100_000) });
      setTimeout(() => call.emit('error', grpcError(grpc.status.UNAVAILABLE, 'worker went away')), 20);
      return;
    }
    call.write({ data: blob.subarray(from) });
    call.end();
  };
  const server = await startFakeServer({ byteStream: { Read } });
  const client = createReapiClient({ endpoint: server.endpoint, retry: quick, maxBatchBytes: SMALL_BATCH });
  try {
    const got = await client.readBlob(digestOfBytes(blob));
    assert.ok(got.equals(blob));
    assert.equal(offsets, [0, 100_000]);
  } finally {
    client.close();
    await server.close();
  }
});

/** A ByteStream Write that fails the first call after `breakAfter` bytes and keeps what it got. */
function flakyWriter(breakAfter: number, queryWriteStatus: boolean) {
  const kept = new Map<string, Buffer>();
  const attempts: { resourceName: string; firstOffset: number }[] = [];
  const Write: ClientStream = (call, cb) => {
    let name = '';
    let first = true;
    let answered = false;
    call.on('data', (req: { resourceName: string; writeOffset: number; finishWrite: boolean; data: Buffer }) => {
      if (answered) return;
      if (first) {
        name = req.resourceName;
        attempts.push({ resourceName: name, firstOffset: Number(req.writeOffset) });
        first = false;
      }
      const have = kept.get(name) ?? Buffer.alloc(0);
      if (Number(req.writeOffset) !== have.length) {
        answered = true;
        return cb(grpcError(grpc.status.INVALID_ARGUMENT, `offset ${req.writeOffset}, have ${have.length}`));
      }
      kept.set(name, Buffer.concat([have, req.data]));
      if (attempts.length === 1 && kept.get(name)!.length >= breakAfter) {
        answered = true;
        return cb(grpcError(grpc.status.UNAVAILABLE, 'storage restarting'));
      }
      if (req.finishWrite) {
        answered = true;
        cb(null, { committedSize: kept.get(name)!.length });
      }
    });
  };
  const QueryWriteStatus: Unary = (call, cb) =>
    queryWriteStatus ? cb(null, { committedSize: kept.get(call.request.resourceName)?.length ?? 0, complete: false }) : cb(grpcError(grpc.status.UNIMPLEMENTED, 'no'));
  return { kept, attempts, handlers: { byteStream: { Write, QueryWriteStatus } } };
}

Resume('an upload broken half-way asks QueryWriteStatus and goes on from there', async () => {
  const blob = randomBytes(600 * 1024);
  const fake = flakyWriter(200 * 1024, true);
  const server = await startFakeServer(fake.handlers);
  const client = createReapiClient({ endpoint: server.endpoint, retry: quick, maxBatchBytes: SMALL_BATCH, chunkBytes: 64 * 1024 });
  try {
    await client.uploadBlobs([{ digest: digestOfBytes(blob), bytes: blob }]);
    assert.is(fake.attempts.length, 2);
    assert.is(fake.attempts[1]!.resourceName, fake.attempts[0]!.resourceName);
    assert.is(fake.attempts[1]!.firstOffset, 256 * 1024); // 4 chunks of 64 KiB had arrived
    assert.ok(fake.kept.get(fake.attempts[0]!.resourceName)!.equals(blob));
  } finally {
    client.close();
    await server.close();
  }
});

Resume('a server that cannot say how much it kept gets the blob again from byte 0 under a new name', async () => {
  const blob = randomBytes(300 * 1024);
  const fake = flakyWriter(100 * 1024, false);
  const server = await startFakeServer(fake.handlers);
  const client = createReapiClient({ endpoint: server.endpoint, retry: quick, maxBatchBytes: SMALL_BATCH, chunkBytes: 64 * 1024 });
  try {
    await client.uploadBlobs([{ digest: digestOfBytes(blob), bytes: blob }]);
    assert.is(fake.attempts.length, 2);
    assert.is.not(fake.attempts[1]!.resourceName, fake.attempts[0]!.resourceName);
    assert.is(fake.attempts[1]!.firstOffset, 0);
    assert.ok(fake.kept.get(fake.attempts[1]!.resourceName)!.equals(blob));
  } finally {
    client.close();
    await server.close();
  }
});

Resume('refuses to upload a source whose bytes are not its digest', async () => {
  const fake = flakyWriter(Infinity, true);
  const server = await startFakeServer(fake.handlers);
  const client = createReapiClient({ endpoint: server.endpoint, retry: quick, maxBatchBytes: SMALL_BATCH });
  try {
    const blob = randomBytes(200 * 1024);
    await rejectsWithCode(() => client.uploadBlobs([{ digest: digestOfBytes(blob), bytes: flip(blob) }]), 'KILN_REAPI_INTEGRITY');
  } finally {
    client.close();
    await server.close();
  }
});

const Calls = suite('calls');

Calls('retries FindMissingBlobs through UNAVAILABLE and RESOURCE_EXHAUSTED', async () => {
  let n = 0;
  const FindMissingBlobs: Unary = (call, cb) => {
    n++;
    if (n === 1) return cb(grpcError(grpc.status.UNAVAILABLE, 'starting'));
    if (n === 2) return cb(grpcError(grpc.status.RESOURCE_EXHAUSTED, 'busy'));
    cb(null, { missingBlobDigests: call.request.blobDigests });
  };
  const server = await startFakeServer({ cas: { FindMissingBlobs } });
  const client = createReapiClient({ endpoint: server.endpoint, retry: quick });
  try {
    const d = digestOfBytes(Buffer.from('x'));
    assert.equal(await client.findMissingBlobs([d, d]), [d]);
    assert.is(n, 3);
  } finally {
    client.close();
    await server.close();
  }
});

Calls('a call past its deadline fails with KILN_REAPI_DEADLINE', async () => {
  const server = await startFakeServer({ cas: { FindMissingBlobs: (() => undefined) as Unary } });
  const client = createReapiClient({ endpoint: server.endpoint, retry: quick, deadlineMs: 200 });
  try {
    const t0 = Date.now();
    await rejectsWithCode(() => client.findMissingBlobs([digestOfBytes(Buffer.from('x'))]), 'KILN_REAPI_DEADLINE');
    assert.ok(Date.now() - t0 < 5000);
  } finally {
    client.close();
    await server.close();
  }
});

Calls('sends the configured headers, the bearer token and RequestMetadata naming kiln', async () => {
  const server = await startFakeServer({});
  const client = createReapiClient({ endpoint: server.endpoint, headers: { 'X-Api-Key': 'k1' }, bearerToken: 't0k', allowInsecureAuth: true, toolInvocationId: 'inv-1' });
  try {
    await client.capabilities();
    const md = server.calls[0]!.metadata;
    assert.equal(md.get('x-api-key'), ['k1']);
    assert.equal(md.get('authorization'), ['Bearer t0k']);
    const rm = decode<{ toolDetails: { toolName: string }; toolInvocationId: string }>(`${REAPI_PACKAGE}.RequestMetadata`, md.get(REQUEST_METADATA_KEY)[0] as Buffer);
    assert.is(rm.toolDetails.toolName, 'kiln');
    assert.is(rm.toolInvocationId, 'inv-1');
  } finally {
    client.close();
    await server.close();
  }
});

Calls('refuses a bearer token over plaintext unless told the network is trusted', () => {
  throwsWithCode(() => createReapiClient({ endpoint: 'grpc://127.0.0.1:1', bearerToken: 'x' }), 'KILN_REAPI_BAD_ENDPOINT');
});

Calls('an aborted call rejects with KILN_REAPI_ABORTED', async () => {
  const server = await startFakeServer({ cas: { FindMissingBlobs: (() => undefined) as Unary } });
  const client = createReapiClient({ endpoint: server.endpoint, retry: quick });
  try {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await rejectsWithCode(() => client.findMissingBlobs([digestOfBytes(Buffer.from('x'))], { signal: controller.signal }), 'KILN_REAPI_ABORTED');
  } finally {
    client.close();
    await server.close();
  }
});

Calls('splits uploads into batches within the server limit', async () => {
  const sizes: number[] = [];
  const BatchUpdateBlobs: Unary = (call, cb) => {
    sizes.push(call.request.requests.reduce((n: number, r: { data: Buffer }) => n + r.data.length, 0));
    cb(null, { responses: call.request.requests.map((r: { digest: ReapiDigest }) => ({ digest: r.digest, status: { code: 0 } })) });
  };
  const server = await startFakeServer({ capabilities: capabilitiesHandler(256 * 1024), cas: { BatchUpdateBlobs } });
  const client = createReapiClient({ endpoint: server.endpoint, retry: quick });
  try {
    const blobs = Array.from({ length: 40 }, () => randomBytes(20_000));
    await client.uploadBlobs(blobs.map((b) => ({ digest: digestOfBytes(b), bytes: b })));
    assert.is(sizes.reduce((a, b) => a + b, 0), 800_000);
    assert.ok(sizes.length >= 4);
    for (const s of sizes) assert.ok(s <= 256 * 1024, `batch of ${s} bytes`);
  } finally {
    client.close();
    await server.close();
  }
});

const Execute = suite('execute');

const anyOf = (type: string, value: object) => ({ type_url: `type.googleapis.com/${REAPI_PACKAGE}.${type}`, value: encode(`${REAPI_PACKAGE}.${type}`, value) });
const actionDigest = digestOfBytes(Buffer.from('an action'));

Execute('follows an operation with WaitExecution when the Execute stream ends early', async () => {
  const waited: string[] = [];
  const execution = {
    Execute: ((call) => {
      call.write({ name: 'op-1', metadata: anyOf('ExecuteOperationMetadata', { stage: 'QUEUED' }), done: false });
      call.end();
    }) as ServerStream,
    WaitExecution: ((call) => {
      waited.push(call.request.name);
      call.write({ name: 'op-1', done: true, response: anyOf('ExecuteResponse', { result: { exitCode: 3 }, message: 'see logs' }) });
      call.end();
    }) as ServerStream,
  };
  const server = await startFakeServer({ execution });
  const client = createReapiClient({ endpoint: server.endpoint, retry: quick });
  try {
    const stages: string[] = [];
    const out = await client.execute(actionDigest, { onStage: (s) => stages.push(s) });
    assert.is(out.result.exitCode, 3);
    assert.is(out.operationName, 'op-1');
    assert.is(out.message, 'see logs');
    assert.equal(waited, ['op-1']);
    assert.equal(stages, ['QUEUED']);
  } finally {
    client.close();
    await server.close();
  }
});

Execute('an action that did not finish is KILN_REAPI_EXECUTION with its status and partial result', async () => {
  const execution = {
    Execute: ((call) => {
      call.write({ name: 'op-2', done: true, response: anyOf('ExecuteResponse', { result: { exitCode: 137, stderrRaw: Buffer.from('killed') }, status: { code: grpc.status.DEADLINE_EXCEEDED, message: 'timeout' } }) });
      call.end();
    }) as ServerStream,
  };
  const server = await startFakeServer({ execution });
  const client = createReapiClient({ endpoint: server.endpoint, retry: quick });
  try {
    const err = await rejectsWithCode<ReapiError>(() => client.execute(actionDigest), 'KILN_REAPI_EXECUTION');
    assert.is(err.grpcCode, grpc.status.DEADLINE_EXCEEDED);
    assert.is(err.partialResult?.stderrRaw.toString(), 'killed');
  } finally {
    client.close();
    await server.close();
  }
});

Execute('refuses an operation whose response is not an ExecuteResponse', async () => {
  const execution = {
    Execute: ((call) => {
      call.write({ name: 'op-3', done: true, response: { type_url: 'type.googleapis.com/google.rpc.Status', value: Buffer.alloc(0) } });
      call.end();
    }) as ServerStream,
  };
  const server = await startFakeServer({ execution });
  const client = createReapiClient({ endpoint: server.endpoint, retry: quick });
  try {
    await rejectsWithCode(() => client.execute(actionDigest), 'KILN_REAPI_BAD_RESPONSE');
  } finally {
    client.close();
    await server.close();
  }
});

Execute('an abort closes the stream and asks Operations.CancelOperation for the operation', async () => {
  const cancelled: string[] = [];
  let closed = false;
  const execution = {
    Execute: ((call) => {
      call.write({ name: 'op-4', metadata: anyOf('ExecuteOperationMetadata', { stage: 'EXECUTING' }), done: false });
      call.on('cancelled', () => (closed = true));
    }) as ServerStream,
  };
  const operations = { CancelOperation: ((call, cb) => { cancelled.push(call.request.name); cb(null, {}); }) as Unary };
  const server = await startFakeServer({ execution, operations });
  const client = createReapiClient({ endpoint: server.endpoint, retry: quick });
  try {
    const controller = new AbortController();
    const err = await rejectsWithCode<ReapiError>(
      () => client.execute(actionDigest, { signal: controller.signal, onStage: (s) => s === 'EXECUTING' && controller.abort() }),
      'KILN_REAPI_ABORTED',
    );
    assert.is(err.remoteCancel, 'cancelled');
    assert.is(err.operationName, 'op-4');
    assert.equal(cancelled, ['op-4']);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(closed, 'the server saw the stream cancelled');
  } finally {
    client.close();
    await server.close();
  }
});

Integrity.run();
Resume.run();
Calls.run();
Execute.run();

