import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fetchInput, fetchInputs, inputUri } from '../../src/fetch/index.js';
import { createStore } from '../../src/store/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { debSpec, pathSpec, sri, startServer, urlSpec } from './support.js';

/** A small tar: hello/ and hello/greeting. */
async function makeTar(): Promise<Buffer> {
  const p = pack();
  p.entry({ name: 'hello/', type: 'directory', mode: 0o755 });
  p.entry({ name: 'hello/greeting', mode: 0o644 }, 'hi\n');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of p) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const FetchInputUnpack = suite('fetchInput (unpack)');

FetchInputUnpack('unpacks a verified archive into a tree and caches it by the blob', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: join(dir, 'store') });
    const tar = await makeTar();
    await writeFile(join(dir, 'src.tar'), tar);
    const spec = pathSpec('src', 'src.tar', sri(tar), true);
    const got = await fetchInput(store, spec, { recipeDir: dir });
    assert.is(got.mount.kind, 'tree');
    const tree = got.mount.kind === 'tree' ? got.mount.tree : undefined;
    const manifest = await store.readTree(tree!);
    assert.equal(manifest.entries.map((e) => e.path), ['hello', 'hello/greeting']);
    assert.is(await store.getRef('unpacked', got.digest), tree);
    const again = await fetchInput(store, spec, { recipeDir: dir });
    assert.is(again.cached, true);
    assert.equal(again.mount, got.mount);
  } finally {
    await cleanup();
  }
});

FetchInputUnpack('an archive that is not one fails with KILN_FETCH_ARCHIVE naming the input', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: join(dir, 'store') });
    await writeFile(join(dir, 'not.tar'), 'plain text, not an archive');
    const err = await rejectsWithCode<{ input: string; cause: { code: string } }>(
      () => fetchInput(store, pathSpec('src', 'not.tar', sri('plain text, not an archive'), true), { recipeDir: dir }),
      'KILN_FETCH_ARCHIVE',
    );
    assert.is(err.input, 'src');
    assert.match(err.cause.code, /^KILN_ARCHIVE_/);
  } finally {
    await cleanup();
  }
});

const FetchInputs = suite('fetchInputs');

FetchInputs('fetches several inputs and returns them by name', async () => {
  const { dir, cleanup } = await makeTempDir();
  const server = await startServer({
    '/a': (_req, res) => res.end('A'),
    '/b': (_req, res) => res.end('B'),
  });
  try {
    const store = await createStore({ root: join(dir, 'store') });
    await writeFile(join(dir, 'c'), 'C');
    const got = await fetchInputs(
      store,
      [urlSpec('a', `${server.url}/a`, sri('A')), urlSpec('b', `${server.url}/b`, sri('B')), pathSpec('c', 'c', sri('C'))],
      { recipeDir: dir },
    );
    assert.equal(Object.keys(got).sort(), ['a', 'b', 'c']);
    assert.is((await store.readBlob(got.b!.digest)).toString(), 'B');
  } finally {
    await server.close();
    await cleanup();
  }
});

FetchInputs('the first error wins and cancels the inputs still downloading', async () => {
  const { dir, cleanup } = await makeTempDir();
  const server = await startServer({
    '/slow': (_req, res) => {
      res.writeHead(200);
      res.write('partial'); // never ends: only cancellation can finish this fetch
    },
  });
  try {
    const store = await createStore({ root: join(dir, 'store') });
    const started = Date.now();
    const err = await rejectsWithCode<{ input: string }>(
      () =>
        fetchInputs(store, [urlSpec('slow', `${server.url}/slow`, sri('x')), pathSpec('missing', 'missing', sri('y'))], { recipeDir: dir }),
      'KILN_FETCH_NOT_FOUND',
    );
    assert.is(err.input, 'missing');
    assert.ok(Date.now() - started < 5000, 'did not wait for the stalled download');
    assert.is((await store.maintenance.stats()).tempFiles, 0);
  } finally {
    await server.close();
    await cleanup();
  }
});

const InputUri = suite('inputUri');

InputUri('names each input kind for provenance', () => {
  assert.is(inputUri(pathSpec('a', 'images/rootfs.tar', sri('x'))), 'file:images/rootfs.tar');
  assert.is(inputUri(urlSpec('a', 'https://example.invalid/a.tgz', sri('x'))), 'https://example.invalid/a.tgz');
  assert.is(inputUri(debSpec('a', 'busybox-static', '1:1.35.0-4+b3', sri('x'))), 'pkg:deb/debian/busybox-static@1%3A1.35.0-4%2Bb3?arch=amd64');
});

FetchInputUnpack.run();
FetchInputs.run();
InputUri.run();
