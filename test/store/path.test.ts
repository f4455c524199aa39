import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { actionPathFor, blobPathFor, refPathFor, resolveStoreRoot } from '../../src/store/index.js';
import { sha256Digest } from '../../src/util/index.js';
import { throwsWithCode } from '../helpers/index.js';

const hello = sha256Digest('hello'); // sha256:2cf24dba…

const BlobPathFor = suite('blobPathFor');

BlobPathFor('fans out by the first two hex characters under a versioned layout', () => {
  const hex = hello.slice(7);
  assert.is(blobPathFor('/s', hello), `/s/v1/cas/sha256/2c/${hex.slice(2)}`);
});

BlobPathFor('rejects a malformed digest', () => {
  throwsWithCode(() => blobPathFor('/s', 'sha256:../../etc' as never), 'KILN_STORE_BAD_DIGEST');
  throwsWithCode(() => blobPathFor('/s', `sha256:${'A'.repeat(64)}` as never), 'KILN_STORE_BAD_DIGEST');
});

const ActionPathFor = suite('actionPathFor');

ActionPathFor('keeps action records under v1/ac/<2 hex>/<hex>.json', () => {
  const hex = hello.slice(7);
  assert.is(actionPathFor('/s', hello), `/s/v1/ac/2c/${hex}.json`);
});

const RefPathFor = suite('refPathFor');

RefPathFor('names a ref file by the sha256 of its name, so SRI names with / are safe', () => {
  const p = refPathFor('/s', 'integrity', 'sha512-ab/cd+ef==');
  assert.match(p, /^\/s\/v1\/refs\/integrity\/[0-9a-f]{64}\.json$/);
  assert.is.not(p, refPathFor('/s', 'integrity', 'sha512-ab/cd+eg=='));
});

RefPathFor('rejects a namespace that is not a safe path component', () => {
  throwsWithCode(() => refPathFor('/s', '../x', 'n'), 'KILN_STORE_BAD_RECORD');
  throwsWithCode(() => refPathFor('/s', 'ok', ''), 'KILN_STORE_BAD_RECORD');
});

const ResolveStoreRoot = suite('resolveStoreRoot');

ResolveStoreRoot('prefers the option, then KILN_STORE, then XDG_CACHE_HOME, then ~/.cache', () => {
  const env = { KILN_STORE: '/k', XDG_CACHE_HOME: '/x' };
  assert.is(resolveStoreRoot('/o', env, '/h'), '/o');
  assert.is(resolveStoreRoot(undefined, env, '/h'), '/k');
  assert.is(resolveStoreRoot(undefined, { XDG_CACHE_HOME: '/x' }, '/h'), '/x/kiln');
  assert.is(resolveStoreRoot(undefined, {}, '/h'), '/h/.cache/kiln');
});

BlobPathFor.run();
ActionPathFor.run();
RefPathFor.run();
ResolveStoreRoot.run();
