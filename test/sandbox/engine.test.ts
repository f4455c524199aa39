// Choosing the engine: flags, then the environment; a bad choice is bad usage before any work.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ReapiError } from '../../src/reapi/index.js';
import { checkEngineChoice, resolveRemoteConfig } from '../../src/sandbox/engine.js';
import { SandboxError } from '../../src/sandbox/errors.js';
import { runKiln, repoRoot, throwsWithCode } from '../helpers/index.js';
import { join } from 'node:path';

const choice = suite('checkEngineChoice');

choice('docker by default; reapi when a remote executor is set, by flag or by KILN_REMOTE_EXECUTOR', () => {
  assert.is(checkEngineChoice({}, {}), 'docker');
  assert.is(checkEngineChoice({ remote: { executor: 'grpc://127.0.0.1:1' } }, {}), 'reapi');
  assert.is(checkEngineChoice({}, { KILN_REMOTE_EXECUTOR: 'grpc://127.0.0.1:1' }), 'reapi');
  // An explicit choice wins over the farm in the environment.
  assert.is(checkEngineChoice({ kind: 'docker' }, { KILN_REMOTE_EXECUTOR: 'grpc://127.0.0.1:1' }), 'docker');
  assert.is(checkEngineChoice({}, { KILN_ENGINE: 'docker', KILN_REMOTE_EXECUTOR: 'grpc://127.0.0.1:1' }), 'docker');
});

choice('reapi without a farm, an unknown engine, a malformed endpoint: refused with the family\'s code', () => {
  const none = throwsWithCode(() => checkEngineChoice({ kind: 'reapi' }, {}), 'KILN_SANDBOX_BAD_ENGINE');
  assert.instance(none, SandboxError);
  assert.instance(throwsWithCode(() => checkEngineChoice({ kind: 'podman' }, {}), 'KILN_SANDBOX_BAD_ENGINE'), SandboxError);
  assert.instance(throwsWithCode(() => checkEngineChoice({ kind: 'reapi', remote: { executor: 'http://farm.example:80' } }, {}), 'KILN_REAPI_BAD_ENDPOINT'), ReapiError);
});

choice('the environment fills what the flags leave out; KILN_REMOTE_PLATFORM is name=value pairs', () => {
  const env = { KILN_REMOTE_EXECUTOR: 'grpcs://farm.example/main', KILN_REMOTE_CA: '/ca.pem', KILN_REMOTE_PLATFORM: 'OSFamily=linux, pool=big', KILN_REMOTE_BEARER_TOKEN: 't' };
  assert.equal(resolveRemoteConfig({ executor: 'grpc://127.0.0.1:9' }, env), {
    executor: 'grpc://127.0.0.1:9',
    caFile: '/ca.pem',
    bearerToken: 't',
    platform: { OSFamily: 'linux', pool: 'big' },
  });
  throwsWithCode(() => resolveRemoteConfig({}, { KILN_REMOTE_PLATFORM: 'nonsense' }), 'KILN_SANDBOX_BAD_ENGINE');
});

const cli = suite('kiln build --engine: bad usage exits 2 before any work');
const hello = join(repoRoot(), 'examples', 'hello');

for (const [what, args, message] of [
  ['reapi without a farm', ['--engine', 'reapi'], /needs a farm/],
  ['a farm that is not grpc[s]://', ['--remote-executor', 'http://farm.example:80'], /remote endpoint/],
  ['a header without =', ['--remote-executor', 'grpc://127.0.0.1:1', '--remote-header', 'x-api-key'], /--remote-header takes NAME=VALUE/],
  ['a client certificate without its key', ['--remote-executor', 'grpc://127.0.0.1:1', '--remote-tls-cert', '/c.pem'], /go together/],
] as const) {
  cli(what, async () => {
    const r = await runKiln(['build', hello, '--out', '/nonexistent/out', ...args], { KILN_REMOTE_EXECUTOR: '', KILN_ENGINE: '', KILN_STORE: '/nonexistent/store' });
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.not.match(r.stderr, /fetched/);
  });
}

choice.run();
cli.run();
