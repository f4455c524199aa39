import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The kiln package's folder: walks up from this module (src/util or dist/src/util) to package.json. */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('kiln installation is broken: no package.json above src/util');
    dir = up;
  }
  return (root = dir);
}

let version: string | undefined;

/** kiln's own version, from its package.json; recorded in provenance. */
export function kilnVersion(): string {
  return (version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version);
}
