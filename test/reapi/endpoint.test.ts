import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatEndpoint, parseEndpoint } from '../../src/reapi/index.js';
import { throwsWithCode } from '../helpers/index.js';

const Parse = suite('parseEndpoint');

Parse('reads host, port and a nested instance name from a grpc:// URL', () => {
  assert.equal(parseEndpoint('grpc://127.0.0.1:18980/main/linux'), { address: '127.0.0.1:18980', tls: false, instanceName: 'main/linux' });
});

Parse('grpcs:// means TLS and defaults to port 443', () => {
  assert.equal(parseEndpoint('grpcs://farm.example.org'), { address: 'farm.example.org:443', tls: true, instanceName: '' });
});

Parse('keeps IPv6 hosts in brackets, as gRPC dials them', () => {
  assert.is(parseEndpoint('grpc://[::1]:8980').address, '[::1]:8980');
});

Parse('refuses a plaintext endpoint without a port', () => {
  throwsWithCode(() => parseEndpoint('grpc://farm.example.org/x'), 'KILN_REAPI_BAD_ENDPOINT');
});

Parse('refuses other schemes, credentials in the URL, queries', () => {
  for (const bad of ['http://127.0.0.1:1', 'grpc://user:pw@127.0.0.1:1', 'grpc://127.0.0.1:1/?a=b', 'not a url']) {
    throwsWithCode(() => parseEndpoint(bad), 'KILN_REAPI_BAD_ENDPOINT');
  }
});

Parse('refuses instance names with the segments the API reserves for resource names', () => {
  throwsWithCode(() => parseEndpoint('grpc://127.0.0.1:1/a/blobs'), 'KILN_REAPI_BAD_ENDPOINT');
  throwsWithCode(() => parseEndpoint('grpc://127.0.0.1:1/uploads'), 'KILN_REAPI_BAD_ENDPOINT');
});

Parse('formats back to the same URL', () => {
  for (const url of ['grpc://127.0.0.1:18980', 'grpcs://farm.example.org:443/main']) assert.is(formatEndpoint(parseEndpoint(url)), url);
});

Parse.run();
