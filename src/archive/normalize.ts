import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { createGunzip, createGzip } from 'node:zlib';
import type { TreeEntry, TreeManifest } from '../store/tree.js';
import type { PutResult, Store } from '../store/types.js';
import type { Digest } from '../util/digest.js';
import { readBlobHead } from './blob-file.js';
import { detectFormat, FORMAT_HEAD_BYTES } from './format.js';
import { ArchiveError } from './errors.js';
import { fixGzipHeader } from './gzip.js';
import { openFileRange } from './range.js';
import { indexTar, planCanonicalTar, writeCanonicalTar } from './normalize-tar.js';
import type { NormalizedTree, NormalizeOptions } from './types.js';

/** zlib level of every gzip kiln writes: the most compact, and one fixed choice. */
const GZIP_LEVEL = 9;

/** Decompressed bytes allowed per archive when no budget is given (the shipped profile's value). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 1024 * 1024 * 1024;
/** The budget's name, as the sandbox profile and docs/security.md spell it. */
const BUDGET = 'limits.decompressedBytes';

/**
 * Output-archive normalization (as strip-nondeterminism does): every file of the tree that is
 * a tar or a gzip, by its magic bytes, is rewritten in canonical form. Only metadata changes,
 * never content; a file that is no archive, or a corrupt one, stays as it is.
 */
export async function normalizeTree(store: Store, manifest: TreeManifest, options: NormalizeOptions): Promise<NormalizedTree> {
  const entries: TreeEntry[] = [];
  const rewritten: string[] = [];
  for (const entry of manifest.entries) {
    if (entry.type !== 'file') {
      entries.push(entry);
      continue;
    }
    const result = await normalizeBlob(store, entry.digest, options, entry.path);
    if (result !== undefined && result.digest !== entry.digest) {
      entries.push({ ...entry, digest: result.digest, size: result.size });
      rewritten.push(entry.path);
    } else {
      entries.push(entry);
    }
  }
  const normalized: TreeManifest = { kiln: manifest.kiln, entries };
  return { manifest: normalized, digest: await store.putTree(normalized), rewritten };
}

/**
 * The canonical form of one blob put into the store, or undefined when the blob is not an
 * archive kiln rewrites (or is corrupt). Store failures propagate: they are not "corrupt input".
 * A gzip that decompresses past the budget is refused (KILN_ARCHIVE_TOO_LARGE, naming `name`,
 * the file in the output tree); its temp files are gone before the error leaves.
 */
export async function normalizeBlob(store: Store, digest: Digest, options: NormalizeOptions, name: string = digest): Promise<PutResult | undefined> {
  const format = detectFormat(await readBlobHead(store, digest, FORMAT_HEAD_BYTES));
  if (format === 'tar') return normalizeTar(store, digest, options);
  if (format !== 'gzip') return undefined;
  const tmp = await mkdtemp(join(tmpdir(), 'kiln-normalize-'));
  try {
    return await normalizeGzip(store, digest, tmp, options, name);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function normalizeTar(store: Store, digest: Digest, options: NormalizeOptions): Promise<PutResult | undefined> {
  // Sorting needs random access: index the members in one verified pass, then copy each one's
  // bytes in their new order.
  const members = await indexTar(store.openBlob(digest));
  if (members === undefined) return undefined;
  const blob = await store.openRandomAccess(digest);
  try {
    return await store.putStream(writeCanonicalTar(blob.stream, planCanonicalTar(members, options.sourceDateEpoch)));
  } finally {
    await blob.close();
  }
}

async function normalizeGzip(store: Store, digest: Digest, tmp: string, options: NormalizeOptions, name: string): Promise<PutResult | undefined> {
  const inner = join(tmp, 'inner');
  const limit = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  const tooLarge = () => {
    const label = options.label === undefined ? 'output' : `step "${options.label}"`;
    return new ArchiveError('KILN_ARCHIVE_TOO_LARGE', `${label}: ${JSON.stringify(name)} decompresses to more than ${limit} bytes (budget ${BUDGET} of the sandbox profile)`, {
      label: options.label ?? 'output',
      entry: name,
      budget: { name: BUDGET, limit },
      hint: `raise "${BUDGET}" in the sandbox profile if the archive is meant to be this large`,
    });
  };
  const innerIsTar = await gunzipIfTar(store.openBlob(digest), inner, limit, tooLarge);
  if (innerIsTar === 'corrupt') return undefined;
  const members = innerIsTar ? await indexTar(createReadStream(inner)) : undefined;
  if (members === undefined) {
    // Not a tar inside: the compressed bytes stay; only the header's mtime, name and OS go.
    const source = store.openBlob(digest);
    const fixed = fixGzipHeader();
    source.on('error', (err) => fixed.destroy(err));
    return store.putStream(source.pipe(fixed));
  }
  const range = await openFileRange(inner);
  try {
    const tarStream = writeCanonicalTar(range.stream, planCanonicalTar(members, options.sourceDateEpoch));
    const gzip = createGzip({ level: GZIP_LEVEL });
    tarStream.on('error', (err) => gzip.destroy(err));
    const fixed = fixGzipHeader();
    gzip.on('error', (err) => fixed.destroy(err));
    return await store.putStream(tarStream.pipe(gzip).pipe(fixed));
  } finally {
    await range.close();
  }
}

/**
 * Decompresses a gzip blob, checking it all. When the content is a tar it is written to
 * `inner` (the tar needs random access); any other content is only read through. Past `limit`
 * decompressed bytes (counted before anything is written) it throws `tooLarge()`, after the
 * temp file is closed, so that the caller's removal of the folder leaves nothing.
 */
async function gunzipIfTar(source: Readable, inner: string, limit: number, tooLarge: () => ArchiveError): Promise<boolean | 'corrupt'> {
  const gunzip = createGunzip();
  let storeError: unknown;
  source.on('error', (err) => {
    storeError = err;
    gunzip.destroy(err);
  });
  source.pipe(gunzip);
  let head: Buffer | undefined = Buffer.alloc(0);
  let out: Writable | undefined;
  let total = 0;
  try {
    for await (const chunk of gunzip) {
      total += (chunk as Buffer).length;
      if (total > limit) throw tooLarge();
      if (head !== undefined) {
        head = Buffer.concat([head, chunk as Buffer]);
        if (head.length < FORMAT_HEAD_BYTES) continue;
        if (detectFormat(head) === 'tar') {
          out = createWriteStream(inner, { flags: 'wx' });
          await write(out, head);
        }
        head = undefined;
        continue;
      }
      if (out !== undefined) await write(out, chunk as Buffer);
    }
    if (out !== undefined) {
      out.end();
      await once(out, 'close');
    }
  } catch (err) {
    if (out !== undefined && !out.closed) {
      const closed = once(out, 'close').catch(() => undefined);
      out.destroy();
      await closed;
    }
    if (storeError !== undefined) throw storeError;
    if ((err as { code?: unknown }).code?.toString().startsWith('KILN_')) throw err;
    return 'corrupt';
  } finally {
    source.unpipe(gunzip);
    source.destroy();
  }
  return out !== undefined;
}

async function write(target: Writable, chunk: Buffer): Promise<void> {
  if (!target.write(chunk)) await once(target, 'drain');
}
