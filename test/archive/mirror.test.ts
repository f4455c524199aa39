import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ingestTar } from '../../src/archive/ingest-tar.js';
import { writeTreeTar } from '../../src/archive/pack.js';
import { buildTar } from '../helpers/archives.js';
import { createMemoryStore } from '../helpers/memory-store.js';

const MTIME = 1_700_000_000;

/** What extracting a tar leaves, as path → header fields and content hash (a later member replaces an earlier one). */
async function extracted(stream: Readable): Promise<Map<string, string>> {
  const extract = tar.extract();
  stream.pipe(extract);
  const state = new Map<string, string>();
  for await (const entry of extract) {
    const h = entry.header;
    const hash = createHash('sha256');
    for await (const chunk of entry) hash.update(chunk as Buffer);
    const name = h.name.replace(/\/$/, '');
    state.set(name, [h.type, (h.mode ?? 0).toString(8), h.uid, h.gid, h.uname, h.gname, h.mtime?.getTime(), h.linkname ?? '', hash.digest('hex')].join(' '));
  }
  return state;
}

const mirrorSuite = suite('ingestTar mirror');

mirrorSuite('a mirrored ingest extracts to what writeTreeTar of the resulting tree extracts to', async () => {
  const store = createMemoryStore();
  const big = Buffer.alloc(3 * 1024 * 1024 + 5, 3);
  const input = await buildTar([
    { name: 'out/', type: 'directory', mode: 0o700, uid: 1000 },
    { name: 'out/usr/bin/', type: 'directory', mode: 0o755 },
    { name: 'out/usr/bin/passwd', body: 'setuid tool', mode: 0o4755, uid: 0, gid: 42, uname: 'root', gname: 'shadow' },
    { name: 'out/usr/bin/perl', body: 'perl', mode: 0o755 },
    { name: 'out/usr/bin/perl5.36', type: 'link', linkname: 'out/usr/bin/perl' },
    { name: 'out/usr/lib/big.so', body: big, mode: 0o644, mtime: new Date(5_000) },
    { name: 'out/usr/lib/big-copy.so', type: 'link', linkname: 'out/usr/lib/big.so' },
    { name: 'out/bin', type: 'symlink', linkname: 'usr/bin' },
    { name: 'out/var/mail/', type: 'directory', mode: 0o2775, gid: 8 },
    { name: 'out/dev/null', type: 'character-device', devmajor: 1, devminor: 3 },
    { name: 'out/etc/motd', body: 'first' },
    { name: 'out/etc/motd', body: 'second wins' },
  ]);
  const pack = tar.pack();
  const mirrored = extracted(Readable.from(pack, { objectMode: false }));
  const { manifest } = await ingestTar(store, Readable.from([input]), { label: 'out', strip: 'out', links: 'any', mirror: { pack, mtime: MTIME } });
  pack.finalize();
  const fromMirror = await mirrored;
  const fromTree = await extracted(writeTreeTar(store, manifest, { mtime: MTIME }));
  // The same paths with the same metadata and contents, the folders the input only implied too.
  assert.equal([...fromMirror.keys()].sort(), [...fromTree.keys()].sort());
  for (const [path, state] of fromMirror) assert.is(state, fromTree.get(path), path);
  assert.ok(fromMirror.has('usr/lib') && fromMirror.has('dev'));
  assert.ok(fromTree.get('usr/lib/big-copy.so')?.startsWith('file 644 0 0'), 'a hard link is a copy of its file');
  assert.ok(fromMirror.get('etc/motd')!.endsWith(createHash('sha256').update('second wins').digest('hex')));
  assert.not.ok(fromMirror.has('dev/null'), 'device nodes are not taken');
});

mirrorSuite.run();
