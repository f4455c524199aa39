import type { ActionRecord, Store, TreeManifest } from '../../src/store/index.js';
import type { Digest } from '../../src/util/index.js';

/** A stored output tree of one file, its log, and a record pointing at both. */
export async function storeAction(store: Store, content = 'output'): Promise<{ record: ActionRecord; file: Digest; tree: Digest; log: Digest }> {
  const file = await store.putBytes(content);
  const manifest: TreeManifest = {
    kiln: 'tree/v1',
    entries: [{ path: 'out.txt', type: 'file', mode: 0o644, digest: file.digest, size: file.size }],
  };
  const tree = await store.putTree(manifest);
  const log = (await store.putBytes(`log of ${content}`)).digest;
  const record: ActionRecord = { kiln: 'action/v1', outputTree: tree, log, exitCode: 0, durationMs: 12.5, createdAt: '2024-01-01T00:00:00Z' };
  return { record, file: file.digest, tree, log };
}
