import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool, tail } from '../fetch/run.js';
import type { DebianPackagePin } from '../recipe/types.js';
import type { Store } from '../store/types.js';
import type { Digest } from '../util/digest.js';
import { DEBIAN_PACKAGE_PATTERN } from './apt.js';
import { ImageError } from './errors.js';

/** Same namespace as the input fetchers: an SRI → the blob it pins. */
const REF_INTEGRITY = 'integrity';
const VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z.+~:-]*$/;

export interface FetchedDeb {
  pin: DebianPackagePin;
  digest: Digest;
  size: number;
  /** Found in the store by integrity: not downloaded. */
  cached: boolean;
}

export interface FetchDebsOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Every pinned .deb in the store, verified against its SRI. Cache first (ref `integrity`);
 * the missing ones are downloaded with ONE `apt-get download` through the machine's own apt
 * configuration (kiln names no archive host), then each goes into the store verified. The
 * temp folder is always removed.
 */
export async function fetchDebianPackages(store: Store, pins: DebianPackagePin[], options: FetchDebsOptions = {}): Promise<FetchedDeb[]> {
  const out = new Map<string, FetchedDeb>();
  const missing: DebianPackagePin[] = [];
  for (const pin of pins) {
    const hit = await store.getRef(REF_INTEGRITY, pin.integrity);
    if (hit && (await store.has(hit))) out.set(pin.package, { pin, digest: hit, size: pin.size, cached: true });
    else missing.push(pin);
  }
  if (missing.length > 0) {
    for (const pin of missing) {
      if (!DEBIAN_PACKAGE_PATTERN.test(pin.package) || !VERSION_PATTERN.test(pin.version) || !DEBIAN_PACKAGE_PATTERN.test(pin.arch)) {
        throw new ImageError('KILN_IMAGE_BAD_PACKAGE', `not a Debian package reference: ${pin.package}:${pin.arch}=${pin.version}`);
      }
    }
    const dir = await mkdtemp(join(tmpdir(), 'kiln-apt-'));
    try {
      const targets = missing.map((p) => `${p.package}:${p.arch}=${p.version}`);
      const result = await runTool('apt-get', ['download', '--', ...targets], { cwd: dir, signal: options.signal, env: { LC_ALL: 'C' } });
      if (result.error || result.code !== 0) {
        throw new ImageError('KILN_IMAGE_APT', `apt-get download of ${missing.length} packages failed: ${result.error?.message ?? tail(result.stderr)}`, {
          ...(result.error && { cause: result.error }),
          hint: 'run `apt-get update` first; a pinned version may have left the archive (pin a snapshot source in apt\'s configuration)',
        });
      }
      // apt names each file <package>_<version with %3a for the epoch>_<arch>.deb.
      const files = new Map<string, string>();
      for (const name of await readdir(dir)) {
        const m = /^([^_]+)_([^_]+)_([^_]+)\.deb$/.exec(name);
        if (m) files.set(`${m[1]}_${decodeURIComponent(m[2]!)}_${m[3]}`, name);
      }
      let done = 0;
      for (const pin of missing) {
        const file = files.get(`${pin.package}_${pin.version}_${pin.arch}`);
        if (!file) throw new ImageError('KILN_IMAGE_APT', `apt-get download did not produce ${pin.package}_${pin.version}_${pin.arch}.deb`);
        // A wrong .deb never enters the store: putFile verifies while it copies.
        const put = await store.putFile(join(dir, file), { integrity: pin.integrity, ...(options.signal && { signal: options.signal }) });
        await store.setRef(REF_INTEGRITY, pin.integrity, put.digest);
        out.set(pin.package, { pin, digest: put.digest, size: put.size, cached: false });
        options.onProgress?.(++done, missing.length);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return pins.map((p) => out.get(p.package)!);
}
