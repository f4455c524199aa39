// The engine flags as build()'s engineChoice: what each flag becomes, and bad usage.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { engineOptions } from '../../src/cli/engine-options.js';
import { UsageError } from '../../src/util/errors.js';
import { throwsWithCode } from '../helpers/index.js';

const flags = suite('engineOptions');

flags('each flag lands in its field; flags left out stay out, so the environment can fill them', () => {
  assert.equal(engineOptions({}), { remote: {} });
  assert.equal(
    engineOptions({
      engine: 'reapi',
      'remote-executor': 'grpcs://farm.example.org/main',
      'remote-platform': ['OSFamily=linux', 'pool=big=yes'],
      'remote-privileged': 'refuse',
      'remote-tls-ca': 'ca.pem',
      'remote-tls-cert': 'c.pem',
      'remote-tls-key': 'k.pem',
      'remote-header': ['x-api-key=s3cret'],
      'remote-bearer-token-file': 'token',
    }),
    {
      kind: 'reapi',
      remote: {
        executor: 'grpcs://farm.example.org/main',
        headers: { 'x-api-key': 's3cret' },
        caFile: 'ca.pem',
        certFile: 'c.pem',
        keyFile: 'k.pem',
        bearerTokenFile: 'token',
        platform: { OSFamily: 'linux', pool: 'big=yes' },
        privileged: 'refuse',
      },
    },
  );
});

flags('a pair without a name or "=", a certificate without its key: usage errors naming the flag', () => {
  const cases: Array<[Parameters<typeof engineOptions>[0], string]> = [
    [{ 'remote-header': ['novalue'] }, '--remote-header'],
    [{ 'remote-platform': ['=x'] }, '--remote-platform'],
    [{ 'remote-tls-key': 'k.pem' }, '--remote-tls-cert'],
  ];
  for (const [values, flag] of cases) {
    const err = throwsWithCode(() => engineOptions(values), 'KILN_USAGE');
    assert.instance(err, UsageError);
    assert.match(err.message, flag);
  }
});

flags.run();
