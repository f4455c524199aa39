import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveRemoteCache } from '../../src/remote-cache/index.js';
import { throwsWithCode } from '../helpers/index.js';

const resolve = suite('resolveRemoteCache');

resolve('no endpoint, no shared cache', () => {
  assert.is(resolveRemoteCache({}, {}), undefined);
  assert.is(resolveRemoteCache({ fromEnv: false }, { KILN_REMOTE_CACHE: 'grpc://127.0.0.1:1' }), undefined);
});

resolve('the environment fills what the flags leave, after them', () => {
  const got = resolveRemoteCache({ trust: ['a.pub'] }, {
    KILN_REMOTE_CACHE: 'grpcs://cache.example.org/team',
    KILN_CACHE_TRUST: ' b.pub\nc.pub ',
    KILN_CACHE_SIGN_KEY: 'ci.key',
    KILN_REMOTE_BEARER_TOKEN: 'tok',
  })!;
  assert.is(got.endpoint, 'grpcs://cache.example.org/team');
  assert.equal(got.trust, ['a.pub', 'b.pub', 'c.pub']);
  assert.is(got.signKey, 'ci.key');
  assert.is(got.connection.bearerToken, 'tok');
  assert.is(got.trustServer, false);
  assert.is(got.readActions, true);
  assert.is(got.upload, true);
});

resolve('without the environment (kiln rebuild) only the flags count', () => {
  const got = resolveRemoteCache({ endpoint: 'grpc://127.0.0.1:9', fromEnv: false }, { KILN_CACHE_TRUST: 'b.pub', KILN_CACHE_SIGN_KEY: 'ci.key' })!;
  assert.equal(got.trust, []);
  assert.is(got.signKey, undefined);
});

resolve('refuses a bad endpoint, a bad header, and trust without a cache', () => {
  throwsWithCode(() => resolveRemoteCache({ endpoint: 'http://127.0.0.1:9' }, {}), 'KILN_REAPI_BAD_ENDPOINT');
  throwsWithCode(() => resolveRemoteCache({ endpoint: 'grpc://127.0.0.1:9', connection: { headers: ['no-equals'] } }, {}), 'KILN_USAGE');
  throwsWithCode(() => resolveRemoteCache({ trust: ['a.pub'] }, {}), 'KILN_USAGE');
  throwsWithCode(() => resolveRemoteCache({ trustServer: true }, {}), 'KILN_USAGE');
});

resolve.run();
