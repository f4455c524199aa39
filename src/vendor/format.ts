import { canonicalJSON } from '../util/canonical-json.js';
import { VendorError } from './errors.js';

/** The index's format tag. */
export const VENDOR_FORMAT = 'vendor/v1';
/** Beside `cas/`: what each blob is. */
export const VENDOR_INDEX_FILE = 'index.json';

/**
 * Budgets for reading an index, which may come from anyone (a release archive, a shared
 * folder): its size, its blobs, and the uses listed per blob.
 */
export const MAX_INDEX_BYTES = 64 * 1024 * 1024;
export const MAX_INDEX_BLOBS = 1_000_000;
export const MAX_USES_PER_BLOB = 10_000;

/** One thing of one recipe that a blob is. */
export interface VendorUse {
  /** The recipe's name. */
  recipe: string;
  /** The input, for inputs; absent for a Debian package of an image. */
  input?: string;
  /** The debian image, for its packages. */
  image?: string;
  kind: 'url' | 'deb' | 'npm' | 'git' | 'debsrc';
  /** What was pinned: the URL, `package=version:arch`, `package@version`, `url@commit`, `package=version`. */
  ref: string;
  /** debsrc: a file the .dsc lists (absent: the .dsc); git: a file's path in the tree (absent: the tree manifest). */
  file?: string;
}

export interface VendorBlob {
  size: number;
  /** Every digest of the blob, as SRI: `sha256-… sha512-…` (and the pin's own, when it names another). */
  integrity: string;
  uses: VendorUse[];
}

/**
 * `index.json` of a vendored folder: every blob under `cas/<sha256 hex>`, by that hex. JSON
 * with sorted keys and two-space indent (it diffs well when a release adds packages).
 */
export interface VendorIndex {
  kiln: typeof VENDOR_FORMAT;
  blobs: Record<string, VendorBlob>;
}

const HEX = /^[0-9a-f]{64}$/;
const SRI_TOKEN = /^sha(?:256|384|512)-[A-Za-z0-9+/]+={0,2}$/;
const KINDS = new Set(['url', 'deb', 'npm', 'git', 'debsrc']);

/** Parses index.json; pure (`file` names it in errors). Anything else is KILN_VENDOR_INDEX. */
export function parseVendorIndex(text: string, file: string): VendorIndex {
  const bad = (why: string, cause?: unknown) => new VendorError('KILN_VENDOR_INDEX', `${file} is not a kiln vendor index: ${why}`, { where: { file }, ...(cause !== undefined && { cause }) });
  if (text.length > MAX_INDEX_BYTES) throw bad(`larger than ${MAX_INDEX_BYTES} bytes`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw bad('not valid JSON', err);
  }
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(data)) throw bad('not a JSON object');
  if (data.kiln !== VENDOR_FORMAT) throw bad(`format ${JSON.stringify(data.kiln)}, expected ${JSON.stringify(VENDOR_FORMAT)}`);
  if (!isObj(data.blobs)) throw bad('blobs must be an object');
  const entries = Object.entries(data.blobs);
  if (entries.length > MAX_INDEX_BLOBS) throw bad(`more than ${MAX_INDEX_BLOBS} blobs`);
  const str = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 4096;
  for (const [hex, blob] of entries) {
    if (!HEX.test(hex)) throw bad(`${JSON.stringify(hex.slice(0, 80))} is not a sha256 hex`);
    if (!isObj(blob)) throw bad(`blob ${hex} is not an object`);
    if (typeof blob.size !== 'number' || !Number.isSafeInteger(blob.size) || blob.size < 0) throw bad(`blob ${hex}: size is not a byte count`);
    if (typeof blob.integrity !== 'string' || !blob.integrity.split(' ').every((t) => SRI_TOKEN.test(t))) throw bad(`blob ${hex}: integrity is not an SRI string`);
    if (!Array.isArray(blob.uses) || blob.uses.length > MAX_USES_PER_BLOB) throw bad(`blob ${hex}: uses is not a list (of at most ${MAX_USES_PER_BLOB})`);
    for (const use of blob.uses as unknown[]) {
      const ok = isObj(use) && str(use.recipe) && typeof use.kind === 'string' && KINDS.has(use.kind) && str(use.ref) && (str(use.input) !== str(use.image)) && (use.file === undefined || str(use.file));
      if (!ok) throw bad(`blob ${hex}: a use needs recipe, kind, ref and one of input or image`);
    }
  }
  return data as unknown as VendorIndex;
}

/** Sorted keys, two-space indent, one trailing newline. */
export function vendorIndexToText(index: VendorIndex): string {
  const blobs = Object.fromEntries(
    Object.keys(index.blobs)
      .sort()
      .map((hex) => {
        const b = index.blobs[hex]!;
        const uses = [...b.uses].map((u) => JSON.parse(canonicalJSON(u)) as VendorUse).sort((x, y) => (canonicalJSON(x) < canonicalJSON(y) ? -1 : 1));
        return [hex, { integrity: b.integrity, size: b.size, uses }];
      }),
  );
  return `${JSON.stringify({ blobs, kiln: index.kiln }, null, 2)}\n`;
}

/** Two indexes as one: a folder may hold several recipes (toolchain and hello share ~190 packages). Pure. */
export function mergeVendorIndexes(a: VendorIndex, b: VendorIndex): VendorIndex {
  const blobs: Record<string, VendorBlob> = { ...a.blobs };
  for (const [hex, blob] of Object.entries(b.blobs)) {
    const old = blobs[hex];
    if (!old) {
      blobs[hex] = blob;
      continue;
    }
    const seen = new Set(old.uses.map((u) => canonicalJSON(u)));
    const tokens = new Set([...old.integrity.split(' '), ...blob.integrity.split(' ')]);
    blobs[hex] = { size: blob.size, integrity: [...tokens].sort().join(' '), uses: [...old.uses, ...blob.uses.filter((u) => !seen.has(canonicalJSON(u)))] };
  }
  return { kiln: VENDOR_FORMAT, blobs };
}
