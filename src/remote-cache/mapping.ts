import { assertReapiDigest, digestOfBytes, isReapiDigest, type ReapiDigest } from '../reapi/digest.js';
import type { ActionResult } from '../reapi/messages.js';
import type { Digest } from '../util/digest.js';
import { RemoteCacheError } from './errors.js';

/**
 * How kiln's cache maps onto a REAPI action cache and CAS (docs/remote-execution.md, "Shared
 * cache"). Pure.
 *
 * - An action's entry is keyed by the REAPI digest of its key material: the canonical JSON whose
 *   sha256 IS kiln's action key, so `{ hash: <action key hex>, size_bytes: <material length> }`.
 *   The material itself is stored in the CAS beside the entry, so anyone can read what a key means.
 * - The entry is an ActionResult: exit code 0, the output tree as the OutputDirectory `kiln/out`
 *   (a REAPI Tree), the log as stdout, and the signed claim as the output file
 *   `kiln/cache-entry.intoto.json` (a DSSE envelope, see entry.ts).
 * - A blob's size by its sha256 (pins that name no size: url, npm, git, a `deb` input, a .dsc)
 *   is an entry keyed by the digest of `kiln-blob-size/v1 sha256:<hex>` whose one output file
 *   `blob` is the blob. It is only a hint: the bytes it leads to are verified against the pin.
 */
export const OUTPUT_DIRECTORY = 'kiln/out';
export const SIGNATURE_FILE = 'kiln/cache-entry.intoto.json';
export const BLOB_INDEX_FILE = 'blob';
const BLOB_INDEX_PREFIX = 'kiln-blob-size/v1 sha256:';

/** The entry's key: the REAPI digest of the key material, which must hash to `actionKey`. */
export function actionEntryDigest(actionKey: Digest, keyMaterial: string): ReapiDigest {
  const digest = digestOfBytes(Buffer.from(keyMaterial, 'utf8'));
  if (`sha256:${digest.hash}` !== actionKey) {
    throw new RemoteCacheError('KILN_CACHE_BAD_OPTIONS', `the key material given for ${actionKey} hashes to sha256:${digest.hash}`);
  }
  return digest;
}

/** The key of the size hint of the blob whose sha256 is `hex`. */
export function blobIndexDigest(hex: string): { digest: ReapiDigest; bytes: Buffer } {
  const bytes = Buffer.from(`${BLOB_INDEX_PREFIX}${hex}`, 'utf8');
  return { digest: digestOfBytes(bytes), bytes };
}

/** What an action's entry holds, as REAPI digests. */
export interface EntryDigests {
  tree: ReapiDigest;
  log: ReapiDigest;
  signature?: ReapiDigest;
}

export function entryResult(entry: EntryDigests): Partial<ActionResult> {
  return {
    exitCode: 0,
    outputDirectories: [{ path: OUTPUT_DIRECTORY, treeDigest: entry.tree, isTopologicallySorted: false }],
    outputFiles: entry.signature ? [{ path: SIGNATURE_FILE, digest: entry.signature, isExecutable: false, contents: Buffer.alloc(0) }] : [],
    stdoutDigest: entry.log,
  };
}

/** The digests of an action's entry; KILN_CACHE_BAD_ENTRY when it is not one kiln could have written. */
export function entryDigestsOf(result: ActionResult): EntryDigests {
  if (result.exitCode !== 0) throw badEntry(`its exit code is ${result.exitCode}`);
  const dirs = result.outputDirectories.filter((d) => d.path === OUTPUT_DIRECTORY);
  if (dirs.length !== 1) throw badEntry(`it holds ${dirs.length} output folders ${OUTPUT_DIRECTORY}`);
  const sigs = result.outputFiles.filter((f) => f.path === SIGNATURE_FILE);
  if (sigs.length > 1) throw badEntry(`it holds ${sigs.length} signature files`);
  const log = result.stdoutDigest;
  if (!isReapiDigest(log)) throw badEntry('it holds no log (stdout digest)');
  checked(dirs[0]!.treeDigest, 'the output tree digest');
  return { tree: dirs[0]!.treeDigest, log, ...(sigs[0] && { signature: checked(sigs[0].digest, 'the signature digest') }) };
}

export function blobIndexResult(blob: ReapiDigest): Partial<ActionResult> {
  return { exitCode: 0, outputFiles: [{ path: BLOB_INDEX_FILE, digest: blob, isExecutable: false, contents: Buffer.alloc(0) }] };
}

/** The size a blob-size hint gives for `hex`, or undefined when the entry says nothing usable. */
export function sizeFromBlobIndex(result: ActionResult, hex: string): number | undefined {
  const file = result.outputFiles.find((f) => f.path === BLOB_INDEX_FILE);
  return file && isReapiDigest(file.digest) && file.digest.hash === hex ? file.digest.sizeBytes : undefined;
}

function checked(d: unknown, what: string): ReapiDigest {
  try {
    assertReapiDigest(d, what);
  } catch (err) {
    throw badEntry((err as Error).message, err);
  }
  return d;
}

function badEntry(why: string, cause?: unknown): RemoteCacheError {
  return new RemoteCacheError('KILN_CACHE_BAD_ENTRY', `not a kiln cache entry: ${why}`, { cause });
}
