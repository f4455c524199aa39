import { createHash } from 'node:crypto';
import { chmod, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createStore, blobPathFor } from '../../src/store/index.js';
import { sha256Digest } from '../../src/util/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { listBlobs, listTemps } from './support.js';

const sri = (algorithm: string, data: string | Buffer) => `${algorithm}-${createHash(algorithm).update(data).digest('base64')}`;

const PutBytes = suite('putBytes');

PutBytes('stores bytes under their sha256 and reads them back', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const result = await store.putBytes('hello');
    assert.is(result.digest, sha256Digest('hello'));
    assert.is(result.size, 5);
    assert.is(result.integrity, sri('sha256', 'hello'));
    assert.ok(await store.has(result.digest));
    assert.is((await store.readBlob(result.digest)).toString(), 'hello');
    assert.is((await stat(blobPathFor(store.root, result.digest))).mode & 0o777, 0o444);
    assert.equal(await listTemps(dir), []);
  } finally {
    await cleanup();
  }
});

PutBytes('reports sha512 too when the expected SRI names it', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const result = await store.putBytes('hello', { integrity: sri('sha512', 'hello') });
    assert.is(result.integrity, `${sri('sha256', 'hello')} ${sri('sha512', 'hello')}`);
  } finally {
    await cleanup();
  }
});

PutBytes('a sha256 mismatch leaves no object and no temp file', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const err = await rejectsWithCode<{ expected: string; found: string }>(
      () => store.putBytes('evil', { integrity: sri('sha256', 'good') }),
      'KILN_STORE_INTEGRITY',
    );
    assert.is(err.expected, sri('sha256', 'good'));
    assert.is(err.found, sri('sha256', 'evil'));
    assert.not.ok(await store.has(sha256Digest('evil')));
    assert.equal(await listBlobs(dir), []);
    assert.equal(await listTemps(dir), []);
  } finally {
    await cleanup();
  }
});

PutBytes('a sha512 mismatch leaves no object and no temp file', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const err = await rejectsWithCode<{ found: string }>(() => store.putBytes('evil', { integrity: sri('sha512', 'good') }), 'KILN_STORE_INTEGRITY');
    assert.ok(err.found.includes(sri('sha512', 'evil')));
    assert.equal(await listBlobs(dir), []);
    assert.equal(await listTemps(dir), []);
  } finally {
    await cleanup();
  }
});

PutBytes('every algorithm named must match, not only the strongest', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    await rejectsWithCode(() => store.putBytes('a', { integrity: `${sri('sha256', 'b')} ${sri('sha512', 'a')}` }), 'KILN_STORE_INTEGRITY');
    assert.equal(await listBlobs(dir), []);
  } finally {
    await cleanup();
  }
});

PutBytes('checks an expected sha256 digest', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    await rejectsWithCode(() => store.putBytes('a', { digest: sha256Digest('b') }), 'KILN_STORE_INTEGRITY');
    assert.is((await store.putBytes('a', { digest: sha256Digest('a') })).digest, sha256Digest('a'));
  } finally {
    await cleanup();
  }
});

PutBytes('refuses an unusable SRI before writing anything', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    await rejectsWithCode(() => store.putBytes('a', { integrity: 'md5-abc' }), 'KILN_STORE_BAD_INTEGRITY');
    assert.equal(await listTemps(dir), []);
  } finally {
    await cleanup();
  }
});

PutBytes('8 concurrent writers of the same bytes all succeed with one object', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const data = Buffer.alloc(3 << 20, 7);
    const results = await Promise.all(Array.from({ length: 8 }, () => store.putBytes(data)));
    assert.equal(new Set(results.map((r) => r.digest)).size, 1);
    assert.is((await listBlobs(dir)).length, 1);
    assert.equal(await listTemps(dir), []);
    assert.ok((await store.readBlob(results[0]!.digest)).equals(data));
  } finally {
    await cleanup();
  }
});

const PutFile = suite('putFile');

PutFile('stores a multi-chunk file and reports progress', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: join(dir, 'store') });
    const data = Buffer.alloc((5 << 20) + 123);
    for (let i = 0; i < data.length; i += 4096) data[i] = i % 251;
    await writeFile(join(dir, 'f'), data);
    const seen: number[] = [];
    const result = await store.putFile(join(dir, 'f'), { integrity: sri('sha384', data), onProgress: (n) => seen.push(n) });
    assert.is(result.digest, sha256Digest(data));
    assert.is(result.size, data.length);
    assert.is(seen.at(-1), data.length);
    assert.ok(seen.length >= 6);
    assert.ok((await store.readBlob(result.digest)).equals(data));
  } finally {
    await cleanup();
  }
});

PutFile('an empty file is a valid object', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: join(dir, 'store') });
    await writeFile(join(dir, 'empty'), '');
    assert.is((await store.putFile(join(dir, 'empty'))).digest, sha256Digest(''));
  } finally {
    await cleanup();
  }
});

PutFile('a mismatch leaves no object and no temp file', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: join(dir, 'store') });
    await writeFile(join(dir, 'f'), Buffer.alloc(2 << 20, 1));
    await rejectsWithCode(() => store.putFile(join(dir, 'f'), { integrity: sri('sha512', 'other') }), 'KILN_STORE_INTEGRITY');
    assert.equal(await listBlobs(store.root), []);
    assert.equal(await listTemps(store.root), []);
  } finally {
    await cleanup();
  }
});

PutFile('an aborted signal stops the write and leaves nothing', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: join(dir, 'store') });
    await writeFile(join(dir, 'f'), Buffer.alloc(4 << 20, 1));
    const controller = new AbortController();
    const promise = store.putFile(join(dir, 'f'), { signal: controller.signal, onProgress: () => controller.abort() });
    await rejectsWithCode(() => promise, 'KILN_STORE_ABORTED');
    assert.equal(await listBlobs(store.root), []);
    assert.equal(await listTemps(store.root), []);
  } finally {
    await cleanup();
  }
});

const PutStream = suite('putStream');

PutStream('stores a stream verified against its SRI', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const chunks = ['a', 'bc', 'def'].map((s) => Buffer.from(s));
    const result = await store.putStream(Readable.from(chunks), { integrity: sri('sha512', 'abcdef') });
    assert.is(result.digest, sha256Digest('abcdef'));
    assert.is(result.size, 6);
  } finally {
    await cleanup();
  }
});

PutStream('a source error fails the write and leaves no temp file', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const source = new Readable({
      read() {
        this.push('partial');
        this.destroy(new Error('connection reset'));
      },
    });
    try {
      await store.putStream(source);
      assert.unreachable('should fail');
    } catch (err) {
      assert.is((err as Error).message, 'connection reset');
    }
    assert.equal(await listBlobs(dir), []);
    assert.equal(await listTemps(dir), []);
  } finally {
    await cleanup();
  }
});

PutStream('an abort while the source stalls ends the write', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const source = new Readable({ read() {} }); // never ends
    source.push('x');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    await rejectsWithCode(() => store.putStream(source, { signal: controller.signal }), 'KILN_STORE_ABORTED');
    assert.equal(await listTemps(dir), []);
  } finally {
    await cleanup();
  }
});

const Again = suite('storing what the store already holds');

/** Inode and mtime of a stored object: a rewrite renames a new file into place (new inode). */
const identity = async (path: string) => {
  const info = await stat(path);
  return { ino: info.ino, mtimeMs: info.mtimeMs, size: info.size };
};

Again('bytes already stored are not written again; the object is touched for gc', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const first = await store.putBytes('same bytes');
    const path = blobPathFor(dir, first.digest);
    const old = new Date(Date.now() - 86_400_000);
    await utimes(path, old, old);
    const before = await identity(path);
    const again = await store.putBytes('same bytes');
    assert.equal(again, first);
    const after = await identity(path);
    assert.is(after.ino, before.ino, 'the same file, not a new one renamed over it');
    assert.ok(after.mtimeMs > before.mtimeMs + 3_600_000, 'mtime refreshed');
    assert.equal(await listTemps(dir), []);
  } finally {
    await cleanup();
  }
});

Again('a small stream already stored is not written again', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const first = await store.putStream(Readable.from([Buffer.from('ab'), Buffer.from('cd')]));
    const before = await identity(blobPathFor(dir, first.digest));
    const again = await store.putStream(Readable.from([Buffer.from('a'), Buffer.from('bcd')]));
    assert.equal(again, first);
    assert.is((await identity(blobPathFor(dir, first.digest))).ino, before.ino);
  } finally {
    await cleanup();
  }
});

Again('a large stream (several batches) already stored keeps its object; the copy written meanwhile is removed', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const big = Buffer.alloc(3 * 1024 * 1024 + 7, 7);
    const chunks = () => Readable.from([big.subarray(0, 1000), big.subarray(1000, 2_500_000), big.subarray(2_500_000)]);
    const first = await store.putStream(chunks());
    assert.is(first.size, big.length);
    const before = await identity(blobPathFor(dir, first.digest));
    const again = await store.putStream(chunks());
    assert.equal(again, first);
    assert.is((await identity(blobPathFor(dir, first.digest))).ino, before.ino);
    assert.equal(await listTemps(dir), []);
  } finally {
    await cleanup();
  }
});

Again('an object of the wrong size (torn) is replaced by the bytes written', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const first = await store.putBytes('complete object');
    const path = blobPathFor(dir, first.digest);
    await chmod(path, 0o644);
    await writeFile(path, 'compl');
    await store.putBytes('complete object');
    assert.is((await store.readBlob(first.digest)).toString(), 'complete object');
  } finally {
    await cleanup();
  }
});

Again('a store wiped while kiln runs is written again: its folders are made anew, the blob is read-only', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    const first = await store.putBytes('before the wipe');
    await rm(join(dir, 'v1'), { recursive: true, force: true });
    const again = await (await createStore({ root: dir })).putBytes('before the wipe');
    assert.is(again.digest, first.digest);
    assert.is((await stat(blobPathFor(dir, again.digest))).mode & 0o777, 0o444);
    assert.equal(await listTemps(dir), []);
  } finally {
    await cleanup();
  }
});

PutBytes.run();
PutFile.run();
PutStream.run();
Again.run();
