import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import type { TreeManifest } from '../store/tree.js';
import type { RandomAccessBlob, Store } from '../store/types.js';
import { asArchiveError, entryError } from './errors.js';
import { createTreeBuilder, type TreeBuilderOptions } from './tree-builder.js';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
/** `version made by` high byte 3: the external attributes hold a Unix st_mode in their high 16 bits. */
const MADE_BY_UNIX = 3;
/** A symlink's target is its entry's content; a longer one is not a link anyone means. */
const MAX_LINK_TARGET = 4096;

/** yauzl's reader over a store blob opened for random access. */
class BlobRangeReader extends yauzl.RandomAccessReader {
  constructor(private readonly blob: RandomAccessBlob) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return this.blob.stream(start, end);
  }
}

/** Reads a zip (random access is required: the central directory is at the end). */
export async function readZipEntries(store: Store, file: RandomAccessBlob, options: TreeBuilderOptions): Promise<TreeManifest> {
  const { label } = options;
  const builder = createTreeBuilder(options);
  let zip: yauzl.ZipFile | undefined;
  try {
    // decodeStrings off: yauzl's own name checks would raise bare Errors; ours name the entry.
    zip = await yauzl.fromRandomAccessReaderPromise(new BlobRangeReader(file), file.size, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false });
    for (;;) {
      const entry = await nextEntry(zip);
      if (entry === undefined) break;
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, yauzl.parseExtraFields(entry.extraFieldRaw), false);
      if (/^[A-Za-z]:/.test(name)) throw entryError('KILN_ARCHIVE_UNSAFE_ENTRY', label, name, 'is an absolute (drive-letter) path');
      const mode = entry.versionMadeBy >> 8 === MADE_BY_UNIX ? entry.externalFileAttributes >>> 16 : 0;
      const kind = mode & S_IFMT;
      if (name.endsWith('/') || kind === S_IFDIR) {
        builder.addDir(name);
        continue;
      }
      if (kind !== 0 && kind !== S_IFREG && kind !== S_IFLNK) {
        builder.addSpecial(name, kind === 0o010000 ? 'fifo' : kind === 0o020000 ? 'character-device' : kind === 0o060000 ? 'block-device' : 'socket');
        continue;
      }
      if (entry.isEncrypted()) throw entryError('KILN_ARCHIVE_UNSUPPORTED', label, name, 'is encrypted');
      if (!entry.canDecodeFileData()) {
        throw entryError('KILN_ARCHIVE_UNSUPPORTED', label, name, `uses zip compression method ${entry.compressionMethod}; kiln reads stored and deflated entries`);
      }
      if (builder.checkPath(name) === '') throw entryError('KILN_ARCHIVE_UNSAFE_ENTRY', label, name, 'would replace the root of the tree');
      if (kind === S_IFLNK) {
        if (entry.uncompressedSize > MAX_LINK_TARGET) throw entryError('KILN_ARCHIVE_CORRUPT', label, name, 'is a symlink with an over-long target');
        const target = (await readAll(await openEntry(zip, entry))).toString('utf8');
        builder.addSymlink(name, target);
        continue;
      }
      const put = await store.putStream(await openEntry(zip, entry));
      builder.addFile(name, { digest: put.digest, size: put.size, mode });
    }
  } catch (err) {
    throw asArchiveError(err, label, 'reading the zip archive');
  } finally {
    zip?.close();
  }
  return builder.finish();
}

function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (entry: yauzl.Entry) => {
      cleanup();
      resolve(entry);
    };
    const onEnd = () => {
      cleanup();
      resolve(undefined);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream))));
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
