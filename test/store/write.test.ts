import { createHash } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
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

PutBytes.run();
PutFile.run();
PutStream.run();
