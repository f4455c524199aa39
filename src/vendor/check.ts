import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDsc, pinSha256 } from '../fetch/index.js';
import type { Recipe } from '../recipe/types.js';
import { parseTreeManifest } from '../store/index.js';
import { VendorError } from './errors.js';
import { MAX_INDEX_BYTES, parseVendorIndex, VENDOR_INDEX_FILE } from './format.js';
import { hashFile } from './vendor.js';

export interface VendorCheckOptions {
  /** Also check that the folder holds everything this recipe (with its lock) needs. */
  recipe?: string | Recipe;
}

export interface VendorCheckReport {
  dir: string;
  /** Blobs listed in the index and read in full. */
  checked: number;
  bytes: number;
  /** Listed in the index, absent from cas/. */
  missing: string[];
  /** Present, but not the bytes their name or the index says. */
  corrupt: { blob: string; reason: string }[];
  /** In cas/ but not in the index (verified by name all the same). */
  unlisted: string[];
  /** What the recipe needs and the folder lacks (only with `recipe`). */
  incomplete: string[];
  ok: boolean;
}

const HEX = /^[0-9a-f]{64}$/;

/**
 * `kiln vendor --check DIR`: every blob the index lists is read in full and must match every
 * digest the index gives and its size; every other file under cas/ must match its name. With
 * a recipe, every blob its pins need must be there too (the .dsc's files and a git tree's
 * files are read from the folder itself). Returns a report; `ok` false means a failed verdict.
 */
export async function checkVendorFolder(dir: string, options: VendorCheckOptions = {}): Promise<VendorCheckReport> {
  const indexFile = join(dir, VENDOR_INDEX_FILE);
  const text = await readBounded(indexFile);
  const index = parseVendorIndex(text, indexFile);
  const cas = join(dir, 'cas');
  const report: VendorCheckReport = { dir, checked: 0, bytes: 0, missing: [], corrupt: [], unlisted: [], incomplete: [], ok: false };
  const present = new Set(await readdir(cas).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw new VendorError('KILN_VENDOR_IO', `cannot read ${cas}: ${err.message}`, { cause: err });
  }));
  for (const [hex, blob] of Object.entries(index.blobs).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!present.has(hex)) {
      report.missing.push(hex);
      continue;
    }
    const found = await hashFile(join(cas, hex));
    report.checked++;
    report.bytes += found.size;
    const want = blob.integrity.split(' ');
    const got = new Set(found.integrity.split(' '));
    if (found.sha256 !== hex) report.corrupt.push({ blob: hex, reason: `its bytes are sha256:${found.sha256}` });
    else if (found.size !== blob.size) report.corrupt.push({ blob: hex, reason: `${found.size} bytes, the index says ${blob.size}` });
    else if (want.some((t) => (t.startsWith('sha256-') || t.startsWith('sha512-')) && !got.has(t))) report.corrupt.push({ blob: hex, reason: `does not match the index's ${blob.integrity}` });
  }
  for (const name of [...present].sort()) {
    if (Object.hasOwn(index.blobs, name)) continue;
    report.unlisted.push(name);
    if (!HEX.test(name)) report.corrupt.push({ blob: name, reason: 'not a sha256 name' });
    else {
      const found = await hashFile(join(cas, name)).catch(() => undefined);
      if (found?.sha256 !== name) report.corrupt.push({ blob: name, reason: 'its bytes do not match its name' });
    }
  }
  if (options.recipe !== undefined) report.incomplete = await missingForRecipe(options.recipe, cas, present);
  report.ok = report.missing.length === 0 && report.corrupt.length === 0 && report.incomplete.length === 0;
  return report;
}

async function readBounded(file: string): Promise<string> {
  const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new VendorError(err.code === 'ENOENT' ? 'KILN_VENDOR_INDEX' : 'KILN_VENDOR_IO', `cannot read ${file}: ${err.code ?? err.message}`, { cause: err, where: { file }, hint: 'a vendored folder is written by `kiln vendor --out DIR`' });
  });
  if (info.size > MAX_INDEX_BYTES) throw new VendorError('KILN_VENDOR_INDEX', `${file} is larger than ${MAX_INDEX_BYTES} bytes`, { where: { file } });
  return readFile(file, 'utf8');
}

/** Blobs the recipe's pins need that cas/ lacks, each named by what it is. */
async function missingForRecipe(recipeArg: string | Recipe, cas: string, present: Set<string>): Promise<string[]> {
  const recipe = typeof recipeArg === 'string' ? await (await import('../lock/index.js')).loadBuildRecipe(recipeArg) : recipeArg;
  const missing: string[] = [];
  const need = (hex: string | undefined, what: string) => {
    if (hex === undefined) missing.push(`${what}: the pin names no sha256 (\`kiln lock --update\` records one)`);
    else if (!present.has(hex)) missing.push(`${what}: cas/${hex}`);
  };
  for (const spec of Object.values(recipe.inputs)) {
    if (spec.kind === 'path') continue;
    const hex = pinSha256(spec);
    need(hex, `input ${spec.name}`);
    if (hex === undefined || !present.has(hex)) continue;
    if (spec.kind === 'debsrc') {
      const dsc = parseDsc(await readSmall(join(cas, hex)));
      if (typeof dsc === 'string') missing.push(`input ${spec.name}: its .dsc is unusable: ${dsc}`);
      else for (const f of dsc.files) need(f.sha256, `input ${spec.name} (${f.name})`);
    }
    if (spec.kind === 'git') {
      let entries;
      try {
        entries = parseTreeManifest(await readSmall(join(cas, hex))).entries;
      } catch (err) {
        missing.push(`input ${spec.name}: the pinned blob is not a tree manifest: ${(err as Error).message}`);
        continue;
      }
      for (const e of entries) if (e.type === 'file') need(e.digest.slice('sha256:'.length), `input ${spec.name} (${e.path})`);
    }
  }
  for (const spec of Object.values(recipe.images)) {
    if (spec.kind !== 'debian') continue;
    for (const pin of spec.pins) need(pinSha256(pin), `image ${spec.name}: ${pin.package}=${pin.version}:${pin.arch}`);
  }
  return missing;
}

/** A .dsc or a tree manifest from the folder: read up to 64 MiB (they are small; a huge one is not one). */
async function readSmall(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(Math.min((await handle.stat()).size, MAX_INDEX_BYTES));
    await handle.read(buffer, 0, buffer.length, 0);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}
