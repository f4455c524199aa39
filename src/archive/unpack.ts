import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { TreeManifest } from '../store/tree.js';
import type { Store } from '../store/types.js';
import type { Digest } from '../util/digest.js';
import { selectArMember } from './ar.js';
import { readBlobHead } from './blob-file.js';
import { decompress, type Compression } from './decompress.js';
import { detectArchiveFormat, FORMAT_HEAD_BYTES } from './format.js';
import { ArchiveError } from './errors.js';
import { readTarEntries, type ReadTarMode } from './ingest-tar.js';
import type { TreeBuilderOptions } from './tree-builder.js';
import type { ArchiveFormat, IngestedTree } from './types.js';
import { readZipEntries } from './ingest-zip.js';

export interface UnpackOptions {
  /** The input the archive belongs to: named in every error. */
  label: string;
  /** Skip detection by magic bytes. */
  format?: ArchiveFormat;
  /**
   * Default `contained` (inputs). `any` for a root filesystem tarball imported as an image:
   * its absolute links are data and its /dev nodes are skipped.
   */
  links?: 'contained' | 'any';
}

/** The payload of a .deb and how it is compressed (dpkg-deb writes one of these). */
const DEB_PAYLOADS: Record<string, Compression> = {
  'data.tar': 'none',
  'data.tar.gz': 'gzip',
  'data.tar.xz': 'xz',
  'data.tar.bz2': 'bzip2',
  'data.tar.zst': 'zstd',
};

/**
 * Unpacks an archive blob (an input with `unpack: true`) into a tree, safely: entries only
 * ever become manifest rows, links must stay inside the tree, device nodes are refused.
 */
export async function unpackArchive(store: Store, blob: Digest, options: UnpackOptions): Promise<IngestedTree> {
  const { label } = options;
  const format = options.format ?? detectArchiveFormat(await readBlobHead(store, blob, FORMAT_HEAD_BYTES));
  if (format === undefined) {
    throw new ArchiveError('KILN_ARCHIVE_UNSUPPORTED', `${label}: not an archive kiln can unpack (tar, tar.gz, tar.xz, tar.bz2, zip, deb)`, { label });
  }
  const settings: TreeBuilderOptions = { label, links: options.links ?? 'contained' };
  let manifest: TreeManifest;
  switch (format) {
    case 'tar':
      manifest = await readCompressedTar(store, store.openBlob(blob), 'none', settings);
      break;
    case 'tar.gz':
      manifest = await readCompressedTar(store, store.openBlob(blob), 'gzip', settings);
      break;
    case 'tar.xz':
      manifest = await readCompressedTar(store, store.openBlob(blob), 'xz', settings);
      break;
    case 'tar.bz2':
      manifest = await readCompressedTar(store, store.openBlob(blob), 'bzip2', settings);
      break;
    case 'zip':
      manifest = await unpackZip(store, blob, settings);
      break;
    case 'deb':
      manifest = await unpackDeb(store, blob, settings);
      break;
  }
  return { manifest, digest: await store.putTree(manifest) };
}

async function readCompressedTar(store: Store, source: Readable, compression: Compression, settings: TreeBuilderOptions & ReadTarMode): Promise<TreeManifest> {
  const decompressed = decompress(compression, source, settings.label);
  let manifest: TreeManifest;
  try {
    manifest = await readTarEntries(store, decompressed.stream, settings);
  } catch (err) {
    decompressed.abort();
    if ((err as { code?: unknown }).code !== 'KILN_ARCHIVE_CORRUPT') throw err;
    // A tool that failed on its own (corrupt data, missing) says more than the truncated tar it left.
    const toolError = await decompressed.done.then(() => undefined, (e: unknown) => e);
    throw toolError ?? err;
  }
  await decompressed.done;
  return manifest;
}

async function unpackZip(store: Store, blob: Digest, settings: TreeBuilderOptions): Promise<TreeManifest> {
  // The blob is read at random (the central directory is at the end); one verified pass
  // first proves its bytes.
  await pipeline(store.openBlob(blob), new Writable({ write: (_c, _e, cb) => cb() }));
  const file = await store.openRandomAccess(blob);
  try {
    return await readZipEntries(store, file, settings);
  } finally {
    await file.close();
  }
}

async function unpackDeb(store: Store, blob: Digest, settings: TreeBuilderOptions & ReadTarMode): Promise<TreeManifest> {
  const { label } = settings;
  const member = selectArMember(store.openBlob(blob), (name) => name.startsWith('data.tar'), label);
  const name = await member.name;
  const compression = DEB_PAYLOADS[name];
  if (compression === undefined) {
    member.stream.destroy();
    throw new ArchiveError('KILN_ARCHIVE_UNSUPPORTED', `${label}: the .deb payload ${JSON.stringify(name)} uses a compression kiln does not read`, { label, entry: name });
  }
  // A .deb payload is a root filesystem: its absolute links point inside it.
  return readCompressedTar(store, member.stream, compression, { ...settings, rootedAbsoluteLinks: true });
}
