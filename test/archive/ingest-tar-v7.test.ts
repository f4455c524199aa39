import { Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ingestTar } from '../../src/archive/ingest-tar.js';
import { rejectsWithCode } from '../helpers/index.js';
import { createMemoryStore } from '../helpers/memory-store.js';

/** One pre-POSIX (v7) header: no `ustar` magic, no owner names, as automake's `make dist` writes. */
function v7Header(name: string, size: number, type: '0' | '5', mode: number): Buffer {
  const h = Buffer.alloc(512);
  const oct = (value: number, at: number, width: number) => h.write(`${value.toString(8).padStart(width - 1, '0')}\0`, at, 'ascii');
  h.write(name, 0, 'utf8');
  oct(mode, 100, 8);
  oct(0, 108, 8);
  oct(0, 116, 8);
  oct(size, 124, 12);
  oct(1416139200, 136, 12);
  h.write(type, 156, 'ascii');
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

function v7Tar(): Buffer {
  const body = Buffer.from('Hello, world!\n');
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([v7Header('hello-2.10/', 0, '5', 0o755), v7Header('hello-2.10/README', body.length, '0', 0o644), body, pad, Buffer.alloc(1024)]);
}

const ingest = suite('ingestTar (v7 headers)');

ingest('reads a pre-POSIX v7 tar, which has no ustar magic', async () => {
  const store = createMemoryStore();
  const { manifest } = await ingestTar(store, Readable.from([v7Tar()]), { label: 'src', links: 'contained' });
  const file = manifest.entries.find((e) => e.path === 'hello-2.10/README');
  assert.ok(file && file.type === 'file');
  assert.is(file.type === 'file' && file.size, 14);
  assert.ok(manifest.entries.some((e) => e.path === 'hello-2.10' && e.type === 'dir'));
});

ingest('still refuses a v7 header whose checksum is wrong', async () => {
  const store = createMemoryStore();
  const tar = v7Tar();
  tar[0] = 'j'.charCodeAt(0);
  await rejectsWithCode(() => ingestTar(store, Readable.from([tar]), { label: 'src', links: 'contained' }), 'KILN_ARCHIVE_CORRUPT');
});

ingest.run();
