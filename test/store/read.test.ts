import { chmod, writeFile } from 'node:fs/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createStore, type LocalStore, blobPathFor } from '../../src/store/index.js';
import { sha256Digest } from '../../src/util/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';

async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function corrupt(store: LocalStore, digest: `sha256:${string}`, garbage: string): Promise<void> {
  const path = blobPathFor(store.root, digest);
  await chmod(path, 0o644);
  await writeFile(path, garbage);
}

const OpenBlob = suite('openBlob');

OpenBlob('streams the blob', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const data = Buffer.alloc(3 << 20, 9);
    const { digest } = await store.putBytes(data);
    assert.ok((await drain(store.openBlob(digest))).equals(data));
  } finally {
    await cleanup();
  }
});

OpenBlob('errors with KILN_STORE_CORRUPT at the end when the bytes changed, and drops the object', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const { digest } = await store.putBytes('good bytes');
    await corrupt(store, digest, 'bad bytes!');
    await rejectsWithCode(() => drain(store.openBlob(digest)), 'KILN_STORE_CORRUPT');
    assert.not.ok(await store.has(digest), 'a corrupt object becomes a miss');
  } finally {
    await cleanup();
  }
});

OpenBlob('errors with KILN_STORE_MISSING for an absent blob', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    await rejectsWithCode(() => drain(store.openBlob(sha256Digest('nothing'))), 'KILN_STORE_MISSING');
  } finally {
    await cleanup();
  }
});

const ReadBlob = suite('readBlob');

ReadBlob('rejects a corrupt blob and a missing one', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const { digest } = await store.putBytes('{"a":1}');
    await corrupt(store, digest, '{"a":2}');
    const err = await rejectsWithCode<{ expected: string; found: string }>(() => store.readBlob(digest), 'KILN_STORE_CORRUPT');
    assert.is(err.expected, digest);
    assert.is(err.found, sha256Digest('{"a":2}'));
    await rejectsWithCode(() => store.readBlob(digest), 'KILN_STORE_MISSING');
  } finally {
    await cleanup();
  }
});

const Has = suite('has');

Has('is true only for stored blobs', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const { digest } = await store.putBytes('x');
    assert.ok(await store.has(digest));
    assert.not.ok(await store.has(sha256Digest('y')));
  } finally {
    await cleanup();
  }
});

const RandomAccess = suite('openRandomAccess');

RandomAccess('streams any range, many at once on one handle, with no listener warnings', async () => {
  const { dir, cleanup } = await makeTempDir();
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    const store = await createStore({ root: dir });
    const data = Buffer.from(Array.from({ length: 3 << 20 }, (_, i) => i % 251));
    const { digest } = await store.putBytes(data);
    const blob = await store.openRandomAccess(digest);
    try {
      assert.is(blob.size, data.length);
      const ranges = Array.from({ length: 40 }, (_, i): [number, number] => [i * 70_001, i * 70_001 + 1 + ((i * 4099) % 200_000)]);
      const read = await Promise.all(ranges.map(([start, end]) => drain(blob.stream(start, end))));
      ranges.forEach(([start, end], i) => assert.ok(read[i]!.equals(data.subarray(start, end)), `range ${start}-${end}`));
      assert.is((await drain(blob.stream(10, 10))).length, 0);
    } finally {
      await blob.close();
    }
    await new Promise((r) => setImmediate(r));
    assert.equal(warnings.map((w) => w.message), []);
  } finally {
    process.off('warning', onWarning);
    await cleanup();
  }
});

RandomAccess('a range past the end of a truncated blob fails as corrupt', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const { digest } = await store.putBytes(Buffer.alloc(1000, 1));
    const blob = await store.openRandomAccess(digest);
    try {
      await corrupt(store, digest, 'short');
      await rejectsWithCode(() => drain(blob.stream(0, 1000)), 'KILN_STORE_CORRUPT');
    } finally {
      await blob.close();
    }
  } finally {
    await cleanup();
  }
});

OpenBlob.run();
RandomAccess.run();
ReadBlob.run();
Has.run();
