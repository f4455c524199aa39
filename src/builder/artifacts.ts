import { createHash } from 'node:crypto';
import { mkdir, rename, rm, utimes } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import picomatch from 'picomatch';
import type { Recipe } from '../recipe/index.js';
import type { Store, TreeEntry } from '../store/index.js';
import { digestHex, type Digest } from '../util/digest.js';
import { joinInside } from '../util/relative-path.js';
import { BuildError } from './errors.js';
import type { ArtifactSummary } from './summary.js';

type FileEntry = Extract<TreeEntry, { type: 'file' }>;

/** Pure: which files of which step each artifact glob selects, sorted by name; errors on no match or clash. */
export function selectArtifacts(
  recipe: Recipe,
  trees: Record<string, { entries: TreeEntry[] }>,
): Array<{ name: string; from: string; entry: FileEntry }> {
  const chosen = new Map<string, { name: string; from: string; entry: FileEntry }>();
  for (const spec of recipe.artifacts) {
    const isMatch = picomatch(spec.path, { dot: true });
    const files = trees[spec.from]!.entries.filter((e): e is FileEntry => e.type === 'file' && isMatch(e.path));
    if (files.length === 0) {
      throw new BuildError('KILN_BUILD_NO_ARTIFACT', `artifact "${spec.path}" matched no file in the output of step "${spec.from}"`, {
        where: spec.where,
        hint: 'artifacts are files the step wrote under $KILN_OUT; the glob is relative to it',
      });
    }
    for (const entry of files) {
      const previous = chosen.get(entry.path);
      if (previous && previous.from !== spec.from) {
        throw new BuildError('KILN_BUILD_ARTIFACT_CONFLICT', `artifact "${entry.path}" comes from both step "${previous.from}" and step "${spec.from}"`, { where: spec.where });
      }
      chosen.set(entry.path, { name: entry.path, from: spec.from, entry });
    }
  }
  return [...chosen.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Copies each artifact from the store into `out`, streaming, verifying the sha256 the tree
 * promises and computing sha512 in the same pass; each file appears whole or not at all.
 */
export async function exportArtifacts(
  store: Store,
  recipe: Recipe,
  stepOutputs: Record<string, Digest>,
  out: string,
  mtime: number,
): Promise<ArtifactSummary[]> {
  const trees: Record<string, { entries: TreeEntry[] }> = {};
  for (const from of new Set(recipe.artifacts.map((a) => a.from))) trees[from] = await store.readTree(stepOutputs[from]!);
  const selected = selectArtifacts(recipe, trees);
  const results: ArtifactSummary[] = [];
  for (const { name, from, entry } of selected) {
    // Tree paths are validated by the store; the guard holds even if that ever changes.
    const dest = joinInside(out, name);
    await mkdir(dirname(dest), { recursive: true });
    const tmp = `${dest}.${process.pid}.kiln-tmp`;
    const sha512 = createHash('sha512');
    try {
      await pipeline(
        store.openBlob(entry.digest),
        new Transform({ transform(chunk, _enc, cb) { sha512.update(chunk); cb(null, chunk); } }),
        createWriteStream(tmp, { mode: entry.mode }),
      );
      await utimes(tmp, mtime, mtime);
      await rename(tmp, dest);
    } finally {
      await rm(tmp, { force: true });
    }
    results.push({ name, from, size: entry.size, digests: { sha256: digestHex(entry.digest), sha512: sha512.digest('hex') } });
  }
  return results;
}
