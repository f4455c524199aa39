import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import type { Store } from '../store/types.js';
import type { Digest } from '../util/digest.js';
import { mapLimit } from '../util/map-limit.js';
import { readStreamBounded } from '../util/read-bounded.js';
import { selectArMember } from './ar.js';
import { decompress, type Compression } from './decompress.js';
import { ArchiveError, asArchiveError } from './errors.js';
import { xzStreamSize } from './xz-index.js';

/** A control file is a few KiB; a larger one is not a package kiln reads. */
export const MAX_DEB_CONTROL_BYTES = 1 << 20;
/** The control member (control.tar.*, with the maintainer scripts) is read whole: past this, refused. */
export const MAX_DEB_CONTROL_MEMBER_BYTES = 16 << 20;
/** What a control member's xz index may claim it holds; past this, the member is read on its own, under the control file's budget. */
const MAX_CONTROL_TAR_BYTES = 64 << 20;
/** xz members handed to one xz process: a spawn from a large process costs milliseconds of its main thread. */
const XZ_BATCH = 64;
/** .debs read at once. */
const READ_CONCURRENCY = 4;

/** The control member of a .deb and how it is compressed (dpkg-deb writes one of these). */
const CONTROL_PAYLOADS: Record<string, Compression> = {
  'control.tar': 'none',
  'control.tar.gz': 'gzip',
  'control.tar.xz': 'xz',
  'control.tar.zst': 'zstd',
};

/** A .deb to read, and how errors name it. */
export interface DebBlob {
  digest: Digest;
  label: string;
}

interface ControlMember {
  label: string;
  compression: Compression;
  bytes: Buffer;
}

/**
 * The text of a .deb's `control` file (the package's name, version, relations). Nothing is
 * written anywhere, and a control file over MAX_DEB_CONTROL_BYTES is refused.
 */
export async function readDebControl(store: Store, blob: Digest, options: { label: string }): Promise<string> {
  return (await readDebControls(store, [{ digest: blob, label: options.label }]))[0]!;
}

/**
 * The `control` files of many .debs, in their order. Debian's control members are xz: those go
 * through one xz process per XZ_BATCH members, concatenated, and the output is split at the
 * sizes their xz indexes record (xz checks each index against its data, so a lying index fails
 * the batch rather than shifting the split). A batch that fails is read again member by member,
 * so the error names the .deb; other compressions are read one by one.
 */
export async function readDebControls(store: Store, debs: DebBlob[]): Promise<string[]> {
  const members = await mapLimit(debs, READ_CONCURRENCY, (deb) => readControlMember(store, deb));
  const texts: string[] = new Array<string>(members.length);
  const batched: { index: number; size: number }[] = [];
  for (const [index, member] of members.entries()) {
    const size = member.compression === 'xz' ? xzStreamSize(member.bytes, MAX_CONTROL_TAR_BYTES) : undefined;
    if (size === undefined) texts[index] = await controlOfMember(member);
    else batched.push({ index, size });
  }
  for (let at = 0; at < batched.length; at += XZ_BATCH) {
    const batch = batched.slice(at, at + XZ_BATCH);
    const tars = await decompressXzBatch(batch.map((b) => members[b.index]!.bytes), batch.map((b) => b.size), members[batch[0]!.index]!.label).catch(() => undefined);
    for (const [i, { index }] of batch.entries()) {
      const member = members[index]!;
      texts[index] = tars ? await controlFromTar(Readable.from([tars[i]!]), member.label) : await controlOfMember(member);
    }
  }
  return texts;
}

/** A .deb's control member, read whole (the rest of the blob is read too: a store blob is verified at its end). */
async function readControlMember(store: Store, deb: DebBlob): Promise<ControlMember> {
  const { label } = deb;
  const member = selectArMember(store.openBlob(deb.digest), (name) => name.startsWith('control.tar'), label);
  const name = await member.name.catch((err: unknown) => {
    member.stream.destroy();
    throw err;
  });
  const compression = CONTROL_PAYLOADS[name];
  if (compression === undefined) {
    member.stream.destroy();
    throw new ArchiveError('KILN_ARCHIVE_UNSUPPORTED', `${label}: the .deb control member ${JSON.stringify(name)} uses a compression kiln does not read`, { label, entry: name });
  }
  let bytes: Buffer | undefined;
  try {
    bytes = await readStreamBounded(member.stream, MAX_DEB_CONTROL_MEMBER_BYTES);
  } catch (err) {
    member.stream.destroy();
    throw asArchiveError(err, label, 'reading the .deb control member');
  }
  if (bytes === undefined) {
    throw new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: the .deb control member is larger than ${MAX_DEB_CONTROL_MEMBER_BYTES} bytes`, { label, entry: name });
  }
  return { label, compression, bytes };
}

/** One member on its own: decompressed as it streams into the tar reader. */
async function controlOfMember(member: ControlMember): Promise<string> {
  const decompressed = decompress(member.compression, Readable.from([member.bytes]), member.label);
  try {
    const text = await controlFromTar(decompressed.stream, member.label);
    await decompressed.done;
    return text;
  } catch (err) {
    decompressed.abort();
    throw asArchiveError(err, member.label, 'reading the .deb control member');
  }
}

/**
 * Concatenated .xz streams through one `xz -dc`, split at `sizes`. Fails when xz does, or when
 * its output is not exactly their sum (never buffering more than that).
 */
async function decompressXzBatch(members: Buffer[], sizes: number[], label: string): Promise<Buffer[]> {
  const expected = sizes.reduce((a, b) => a + b, 0);
  const decompressed = decompress('xz', Readable.from(members), label);
  let all: Buffer | undefined;
  try {
    all = await readStreamBounded(decompressed.stream, expected);
    if (all === undefined) throw new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: xz gave more than the indexes record`, { label });
    await decompressed.done;
  } catch (err) {
    decompressed.abort();
    throw err;
  }
  if (all.length !== expected) throw new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: xz gave less than the indexes record`, { label });
  let at = 0;
  return sizes.map((size) => all.subarray(at, (at += size)));
}

/** The `control` file of a control.tar stream, under MAX_DEB_CONTROL_BYTES. */
async function controlFromTar(source: Readable, label: string): Promise<string> {
  const extract = tar.extract();
  source.on('error', (err) => extract.destroy(err));
  source.pipe(extract);
  let control: string | undefined;
  try {
    for await (const entry of extract) {
      const path = entry.header.name.replace(/^\.\//, '');
      if (path === 'control' && entry.header.type === 'file') {
        const bytes = await readStreamBounded(entry as AsyncIterable<Buffer>, MAX_DEB_CONTROL_BYTES);
        if (bytes === undefined) {
          throw new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: the .deb control file is larger than ${MAX_DEB_CONTROL_BYTES} bytes`, { label, entry: 'control' });
        }
        control = bytes.toString('utf8');
        continue;
      }
      for await (const _ of entry) void _;
    }
  } catch (err) {
    source.destroy();
    throw asArchiveError(err, label, 'reading the .deb control member');
  }
  if (control === undefined) throw new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: the .deb has no control file`, { label });
  return control;
}
