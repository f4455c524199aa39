import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildMerkleTree,
  EMPTY_DIGEST,
  merkleBlobs,
  merkleTreeMessage,
  treeEntriesFromMessage,
  type InputLayer,
} from '../../src/reapi/index.js';
import { joinTree } from '../../src/reapi/tree-wire.js';
import { encode, REAPI_PACKAGE } from '../../src/reapi/proto.js';
import type { TreeEntry, TreeManifest } from '../../src/store/index.js';
import type { Digest } from '../../src/util/digest.js';
import { throwsWithCode } from '../helpers/index.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const blob = (s: string) => ({ digest: `sha256:${sha(s)}` as Digest, size: Buffer.byteLength(s) });
const file = (path: string, content: string, mode: 0o644 | 0o755 = 0o644): TreeEntry => ({ path, type: 'file', mode, ...blob(content) });
const tree = (entries: TreeEntry[]): TreeManifest => ({ kiln: 'tree/v1', entries });
const at = (prefix: string, manifest: TreeManifest): InputLayer => ({ prefix, source: { kind: 'tree', manifest } });

/** A varint, written by hand (independent of protobufjs). */
const varint = (n: number) => {
  const out: number[] = [];
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7; }
  out.push(n);
  return Buffer.from(out);
};
const lenField = (tag: number, bytes: Buffer) => Buffer.concat([Buffer.from([tag]), varint(bytes.length), bytes]);

const Build = suite('buildMerkleTree');

Build('encodes a Directory in the canonical wire form: fields in order, defaults left out', () => {
  const t = buildMerkleTree([at('', tree([file('a', 'abc', 0o755), file('b', '')]))]);
  const digestA = Buffer.concat([lenField(0x0a, Buffer.from(sha('abc'))), Buffer.from([0x10, 3])]);
  const nodeA = Buffer.concat([lenField(0x0a, Buffer.from('a')), lenField(0x12, digestA), Buffer.from([0x20, 1])]);
  // The empty file: a Digest without size_bytes, a FileNode without is_executable.
  const nodeB = Buffer.concat([lenField(0x0a, Buffer.from('b')), lenField(0x12, lenField(0x0a, Buffer.from(EMPTY_DIGEST.hash)))]);
  const expected = Buffer.concat([lenField(0x0a, nodeA), lenField(0x0a, nodeB)]);
  assert.is(t.directories.get(t.root.hash)!.bytes.toString('hex'), expected.toString('hex'));
  assert.equal(t.root, { hash: createHash('sha256').update(expected).digest('hex'), sizeBytes: expected.length });
});

Build('sorts entries by name bytes, whatever order the layers gave', () => {
  const a = buildMerkleTree([at('', tree([file('B', '1'), file('a', '2'), file('é', '3')]))]);
  const b = buildMerkleTree([at('', tree([file('é', '3'), file('a', '2'), file('B', '1')]))]);
  assert.equal(a.root, b.root);
});

Build('stores identical folders once and every file blob once', () => {
  const lib = tree([{ path: 'x', type: 'dir' }, file('x/f', 'same')]);
  const t = buildMerkleTree([at('', tree([])), at('kiln/inputs/one', lib), at('kiln/inputs/two', lib)]);
  // root, kiln, kiln/inputs, one (= two), one/x (= two/x)
  assert.is(t.directories.size, 5);
  assert.is(t.files.size, 1);
  assert.is(merkleBlobs(t).length, 6);
});

Build('an empty folder is the empty Directory, whose digest is that of no bytes', () => {
  const t = buildMerkleTree([{ prefix: 'kiln/out', source: { kind: 'dir', mode: 0o755 } }]);
  assert.ok(t.directories.has(EMPTY_DIGEST.hash));
});

Build('later layers replace earlier entries of the same path, as the Docker engine packs them', () => {
  const base = tree([{ path: 'etc', type: 'dir' }, file('etc/hostname', 'image')]);
  const over = tree([file('hostname', 'step')]);
  const t = buildMerkleTree([at('', base), at('etc', over)]);
  const alone = buildMerkleTree([at('', tree([{ path: 'etc', type: 'dir' }, file('etc/hostname', 'step')]))]);
  assert.equal(t.root, alone.root);
});

Build('a single-file layer lands at its prefix with its exec bit', () => {
  const { digest, size } = blob('#!/bin/sh\n');
  const t = buildMerkleTree([{ prefix: 'kiln/inputs/tool', source: { kind: 'file', digest, size, executable: true } }]);
  const expected = buildMerkleTree([at('', tree([{ path: 'kiln', type: 'dir' }, { path: 'kiln/inputs', type: 'dir' }, file('kiln/inputs/tool', '#!/bin/sh\n', 0o755)]))]);
  assert.equal(t.root, expected.root);
});

Build('refuses a layer that needs a folder where an earlier one put a file', () => {
  throwsWithCode(() => buildMerkleTree([at('', tree([file('kiln', 'not a folder')])), at('kiln/inputs/x', tree([]))]), 'KILN_REAPI_BAD_TREE');
});

Build('refuses a prefix that climbs out with ..', () => {
  throwsWithCode(() => buildMerkleTree([at('../x', tree([]))]), 'KILN_REAPI_BAD_TREE');
});

const TreeMessage = suite('merkleTreeMessage / treeEntriesFromMessage');

TreeMessage('a kiln tree survives the trip through a REAPI Tree message', () => {
  const manifest = tree([
    { path: 'bin', type: 'dir' },
    file('bin/tool', 'run me', 0o755),
    { path: 'bin/x', type: 'symlink', target: 'tool' },
    { path: 'empty', type: 'dir' },
    { path: 'share', type: 'dir' },
    { path: 'share/doc', type: 'dir' },
    file('share/doc/README', 'read me'),
  ]);
  const message = merkleTreeMessage(buildMerkleTree([at('', manifest)]));
  assert.equal(treeEntriesFromMessage(message.bytes, 1000), manifest.entries);
});

TreeMessage('refuses a Tree whose folder is missing from its children', () => {
  const t = buildMerkleTree([at('', tree([{ path: 'd', type: 'dir' }, file('d/f', 'x')]))]);
  const rootOnly = joinTree(t.directories.get(t.root.hash)!.bytes, []);
  throwsWithCode(() => treeEntriesFromMessage(rootOnly, 1000), 'KILN_REAPI_BAD_RESPONSE');
});

TreeMessage('refuses names that would climb out or nest', () => {
  for (const name of ['..', 'a/b', '']) {
    const root = encode(`${REAPI_PACKAGE}.Directory`, { files: [{ name, digest: { hash: sha('x'), sizeBytes: 1 } }] });
    throwsWithCode(() => treeEntriesFromMessage(joinTree(root, []), 1000), 'KILN_REAPI_BAD_RESPONSE');
  }
});

TreeMessage('refuses a name given twice in one folder', () => {
  const root = encode(`${REAPI_PACKAGE}.Directory`, {
    files: [{ name: 'a', digest: { hash: sha('x'), sizeBytes: 1 } }],
    symlinks: [{ name: 'a', target: 'b' }],
  });
  throwsWithCode(() => treeEntriesFromMessage(joinTree(root, []), 1000), 'KILN_REAPI_BAD_RESPONSE');
});

TreeMessage('stops at the entry budget: a folder reused many times is not expanded without end', () => {
  // 20 levels, each folder holding its child twice: 2^20 paths from 21 Directory messages.
  let bytes = encode(`${REAPI_PACKAGE}.Directory`, { files: [{ name: 'f', digest: { hash: sha('x'), sizeBytes: 1 } }] });
  const children: Buffer[] = [bytes];
  for (let i = 0; i < 20; i++) {
    const d = { hash: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length };
    bytes = encode(`${REAPI_PACKAGE}.Directory`, { directories: [{ name: 'a', digest: d }, { name: 'b', digest: d }] });
    children.push(bytes);
  }
  throwsWithCode(() => treeEntriesFromMessage(joinTree(children.pop()!, children), 10_000), 'KILN_REAPI_BAD_RESPONSE');
});

TreeMessage('refuses truncated wire bytes', () => {
  const t = merkleTreeMessage(buildMerkleTree([at('', tree([file('a', 'x')]))]));
  throwsWithCode(() => treeEntriesFromMessage(t.bytes.subarray(0, t.bytes.length - 3), 1000), 'KILN_REAPI_BAD_RESPONSE');
});

Build.run();
TreeMessage.run();
