import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fetchInput, fetchUrl } from '../../src/fetch/index.js';
import { createStore } from '../../src/store/index.js';
import { sha256Digest } from '../../src/util/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';
import { listBlobs, listTemps } from '../store/support.js';
import { sri, startServer, urlSpec, where } from './support.js';

const BODY = 'the release tarball\n'.repeat(1000);

function routes() {
  return {
    '/ok': (_req: unknown, res: import('node:http').ServerResponse) => res.writeHead(200, { 'content-length': BODY.length }).end(BODY),
    '/evil': (_req: unknown, res: import('node:http').ServerResponse) => res.writeHead(200).end(BODY.replace('release', 'rele4se')),
    '/moved': (_req: unknown, res: import('node:http').ServerResponse) => res.writeHead(302, { location: '/ok' }).end(),
    '/loop': (_req: unknown, res: import('node:http').ServerResponse) => res.writeHead(301, { location: '/loop' }).end(),
    '/truncated': (_req: unknown, res: import('node:http').ServerResponse) => {
      res.writeHead(200, { 'content-length': BODY.length * 2 });
      res.write(BODY);
      setTimeout(() => res.socket?.destroy(), 20);
    },
    '/stall': (_req: unknown, res: import('node:http').ServerResponse) => {
      res.writeHead(200);
      res.write('a little');
    },
  };
}

const options = (recipeDir: string) => ({ recipeDir });

const FetchUrl = suite('fetchInput (url)');

FetchUrl('downloads into the store, verified, with the URL as uri', async () => {
  const { dir, cleanup } = await makeTempDir();
  const server = await startServer(routes());
  try {
    const store = await createStore({ root: dir });
    const progress: number[] = [];
    const got = await fetchInput(store, urlSpec('src', `${server.url}/ok`, sri(BODY, 'sha512')), {
      recipeDir: dir,
      onProgress: (_name, n, total) => {
        progress.push(n);
        assert.is(total, BODY.length);
      },
    });
    assert.is(got.digest, sha256Digest(BODY));
    assert.is(got.size, BODY.length);
    assert.is(got.uri, `${server.url}/ok`);
    assert.is(got.cached, false);
    assert.equal(got.mount, { kind: 'file', digest: got.digest, size: BODY.length, executable: false });
    assert.is(progress.at(-1), BODY.length);
    assert.is((await store.readBlob(got.digest)).toString(), BODY);
  } finally {
    await server.close();
    await cleanup();
  }
});

FetchUrl('a second fetch is served from the integrity ref without touching the server', async () => {
  const { dir, cleanup } = await makeTempDir();
  const server = await startServer(routes());
  try {
    const store = await createStore({ root: dir });
    const spec = urlSpec('src', `${server.url}/ok`, sri(BODY));
    await fetchInput(store, spec, options(dir));
    const again = await fetchInput(store, spec, options(dir));
    assert.is(again.cached, true);
    assert.is(again.digest, sha256Digest(BODY));
    assert.is(again.size, BODY.length);
    assert.equal(server.hits, ['/ok']);
  } finally {
    await server.close();
    await cleanup();
  }
});

FetchUrl('rejects bytes that do not match, leaving no object, temp file or ref', async () => {
  const { dir, cleanup } = await makeTempDir();
  const server = await startServer(routes());
  try {
    const store = await createStore({ root: dir });
    const spec = urlSpec('src', `${server.url}/evil`, sri(BODY));
    const err = await rejectsWithCode<{ input: string; where: unknown; expected: string; cause: { code: string } }>(
      () => fetchInput(store, spec, options(dir)),
      'KILN_FETCH_INTEGRITY',
    );
    assert.is(err.input, 'src');
    assert.equal(err.where, where);
    assert.is(err.expected, sri(BODY));
    assert.is(err.cause.code, 'KILN_STORE_INTEGRITY');
    assert.equal(await listBlobs(dir), []);
    assert.equal(await listTemps(dir), []);
    assert.is(await store.getRef('integrity', spec.integrity), undefined);
  } finally {
    await server.close();
    await cleanup();
  }
});

FetchUrl('a 404 fails with KILN_FETCH_HTTP naming the input', async () => {
  const { dir, cleanup } = await makeTempDir();
  const server = await startServer(routes());
  try {
    const store = await createStore({ root: dir });
    const err = await rejectsWithCode<{ found: string; message: string }>(
      () => fetchInput(store, urlSpec('src', `${server.url}/missing`, sri(BODY)), options(dir)),
      'KILN_FETCH_HTTP',
    );
    assert.is(err.found, '404');
    assert.ok(err.message.includes('"src"') && err.message.includes('kiln.yaml:7:3'));
    assert.equal(await listBlobs(dir), []);
  } finally {
    await server.close();
    await cleanup();
  }
});

FetchUrl('follows a redirect', async () => {
  const { dir, cleanup } = await makeTempDir();
  const server = await startServer(routes());
  try {
    const store = await createStore({ root: dir });
    const got = await fetchInput(store, urlSpec('src', `${server.url}/moved`, sri(BODY)), options(dir));
    assert.is(got.digest, sha256Digest(BODY));
    assert.is(got.uri, `${server.url}/moved`);
    assert.equal(server.hits, ['/moved', '/ok']);
  } finally {
    await server.close();
    await cleanup();
  }
});

FetchUrl('gives up after 5 redirects', async () => {
  const { dir, cleanup } = await makeTempDir();
  const server = await startServer(routes());
  try {
    const store = await createStore({ root: dir });
    await rejectsWithCode(() => fetchInput(store, urlSpec('src', `${server.url}/loop`, sri(BODY)), options(dir)), 'KILN_FETCH_HTTP');
    assert.is(server.hits.length, 6);
  } finally {
    await server.close();
    await cleanup();
  }
});

FetchUrl('refuses schemes other than http and https', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const store = await createStore({ root: dir });
    await rejectsWithCode(() => fetchInput(store, urlSpec('src', 'ftp://127.0.0.1/x', sri(BODY)), options(dir)), 'KILN_FETCH_UNSUPPORTED');
    await rejectsWithCode(() => fetchInput(store, urlSpec('src', 'file:///etc/passwd', sri(BODY)), options(dir)), 'KILN_FETCH_UNSUPPORTED');
  } finally {
    await cleanup();
  }
});

FetchUrl('a refused connection is a network error', async () => {
  const { dir, cleanup } = await makeTempDir();
  const server = await startServer(routes());
  const url = `${server.url}/ok`;
  await server.close();
  try {
    const store = await createStore({ root: dir });
    await rejectsWithCode(() => fetchInput(store, urlSpec('src', url, sri(BODY)), options(dir)), 'KILN_FETCH_NETWORK');
  } finally {
    await cleanup();
  }
});

FetchUrl('a body cut short is a network error and leaves nothing', async () => {
  const { dir, cleanup } = await makeTempDir();
  const server = await startServer(routes());
  try {
    const store = await createStore({ root: dir });
    await rejectsWithCode(() => fetchInput(store, urlSpec('src', `${server.url}/truncated`, sri(BODY)), options(dir)), 'KILN_FETCH_NETWORK');
    assert.equal(await listBlobs(dir), []);
    assert.equal(await listTemps(dir), []);
  } finally {
    await server.close();
    await cleanup();
  }
});

FetchUrl('an unusable integrity is refused before any request', async () => {
  const { dir, cleanup } = await makeTempDir();
  const server = await startServer(routes());
  try {
    const store = await createStore({ root: dir });
    await rejectsWithCode(() => fetchInput(store, urlSpec('src', `${server.url}/ok`, 'sha1-abc'), options(dir)), 'KILN_FETCH_BAD_INTEGRITY');
    assert.equal(server.hits, []);
  } finally {
    await server.close();
    await cleanup();
  }
});

const FetchUrlDirect = suite('fetchUrl');

FetchUrlDirect('a stalled body times out and leaves no temp file', async () => {
  const { dir, cleanup } = await makeTempDir();
  const server = await startServer(routes());
  try {
    const store = await createStore({ root: dir });
    await rejectsWithCode(
      () => fetchUrl(store, urlSpec('src', `${server.url}/stall`, sri(BODY)), options(dir), { timeoutMs: 150 }),
      'KILN_FETCH_NETWORK',
    );
    assert.equal(await listTemps(dir), []);
  } finally {
    await server.close();
    await cleanup();
  }
});

FetchUrlDirect('aborting a stalled download ends it', async () => {
  const { dir, cleanup } = await makeTempDir();
  const server = await startServer(routes());
  try {
    const store = await createStore({ root: dir });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await rejectsWithCode(
      () => fetchInput(store, urlSpec('src', `${server.url}/stall`, sri(BODY)), { recipeDir: dir, signal: controller.signal }),
      'KILN_FETCH_ABORTED',
    );
    assert.equal(await listTemps(dir), []);
  } finally {
    await server.close();
    await cleanup();
  }
});

FetchUrl.run();
FetchUrlDirect.run();
