import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PQueue from 'p-queue';
import { formatAttempts, NO_SOURCES, pinSha256, putFromLocation, putFromMirror, snapshotLocations, unavailableHint, type SourceAttempt, type Sources } from '../fetch/index.js';
import { runTool, tail } from '../fetch/run.js';
import type { DebianPackagePin } from '../recipe/types.js';
import { StoreError } from '../store/errors.js';
import { REF } from '../store/refs.js';
import type { PutResult, Store } from '../store/types.js';
import type { Digest } from '../util/digest.js';
import { DEBIAN_PACKAGE_PATTERN, parseInstallPrintUris } from './apt.js';
import { ImageError } from './errors.js';

/** Same namespace as the input fetchers: an SRI → the blob it pins. */
const VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z.+~:-]*$/;
/** Mirror and snapshot downloads at once: a few connections, as apt itself opens. */
const DOWNLOADS_AT_ONCE = 4;
/** Packages a failure lists one by one; the rest are counted. */
const LISTED = 12;

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
  /** Mirrors and the Debian snapshot service (fetch's resolveSources); default none. */
  sources?: Sources;
  /** The image's name, for messages. */
  image?: string;
}

const target = (p: DebianPackagePin) => `${p.package}:${p.arch}=${p.version}`;

/**
 * Every pinned .deb in the store, verified against its SRI. Sources in order: the store (ref
 * `integrity`); the mirrors, by the pin's sha256; ONE `apt-get download` of what is still
 * missing, through the machine's own apt configuration (kiln names no archive host), and
 * when apt cannot serve them all, the ones it can; then the Debian snapshot service at the
 * coordinates the lock recorded. Every file is verified while it enters the store, so a wrong
 * .deb from any source is refused and the next source tried. What no source has fails with
 * KILN_IMAGE_APT listing each source and why. Verified packages that did arrive stay in the
 * store (a cache of correct bytes, never a partial object); temp folders are always removed.
 */
export async function fetchDebianPackages(store: Store, pins: DebianPackagePin[], options: FetchDebsOptions = {}): Promise<FetchedDeb[]> {
  const out = new Map<string, FetchedDeb>();
  let missing: DebianPackagePin[] = [];
  for (const pin of pins) {
    const hit = await store.getRef(REF.integrity, pin.integrity);
    if (hit && (await store.has(hit))) out.set(pin.package, { pin, digest: hit, size: pin.size, cached: true });
    else missing.push(pin);
  }
  for (const pin of missing) {
    if (!DEBIAN_PACKAGE_PATTERN.test(pin.package) || !VERSION_PATTERN.test(pin.version) || !DEBIAN_PACKAGE_PATTERN.test(pin.arch)) {
      throw new ImageError('KILN_IMAGE_BAD_PACKAGE', `not a Debian package reference: ${target(pin)}`);
    }
    if (pinSha256(pin) === undefined) throw new ImageError('KILN_IMAGE_BAD_PACKAGE', `${target(pin)}: the pin ${JSON.stringify(pin.integrity)} names no sha256`);
  }
  const sources = options.sources ?? NO_SOURCES;
  const attempts = new Map<string, SourceAttempt[]>(missing.map((p) => [p.package, [{ source: 'store', reason: 'not there' }]]));
  const total = missing.length;
  let done = 0;
  const stored = async (pin: DebianPackagePin, put: PutResult) => {
    await store.setRef(REF.integrity, pin.integrity, put.digest);
    out.set(pin.package, { pin, digest: put.digest, size: put.size, cached: false });
    options.onProgress?.(++done, total);
  };
  const signal = options.signal ? { signal: options.signal } : {};

  for (const mirror of sources.mirrors) {
    if (missing.length === 0) break;
    await eachAtOnce(missing, async (pin) => {
      const got = await putFromMirror(store, mirror, { sha256: pinSha256(pin)!, integrity: pin.integrity, size: pin.size }, signal);
      if (got.ok) await stored(pin, got.put);
      else attempts.get(pin.package)!.push({ source: `mirror ${mirror.label}`, reason: got.reason });
    });
    missing = missing.filter((p) => !out.has(p.package));
  }

  if (missing.length > 0) {
    const failures = await downloadWithApt(store, missing, stored, options.signal);
    for (const [name, reason] of failures) attempts.get(name)!.push({ source: 'apt-get download', reason });
    missing = missing.filter((p) => !out.has(p.package));
  }

  const snapshot = sources.debianSnapshot;
  if (missing.length > 0 && snapshot) {
    await eachAtOnce(missing, async (pin) => {
      if (pin.snapshot === undefined) {
        attempts.get(pin.package)!.push({ source: `Debian snapshot ${snapshot.label}`, reason: 'the lock records no snapshot path for this pin (`kiln lock --update` records them while apt still has the versions)' });
        return;
      }
      for (const at of snapshotLocations(snapshot, pin.snapshot)) {
        const got = await putFromLocation(store, at, { sha256: pinSha256(pin)!, integrity: pin.integrity, size: pin.size }, signal);
        if (got.ok) return stored(pin, got.put);
        attempts.get(pin.package)!.push({ source: `Debian snapshot ${at.label}`, reason: got.reason });
      }
    });
    missing = missing.filter((p) => !out.has(p.package));
  }

  if (missing.length > 0) {
    const listed = missing.slice(0, LISTED).map((p) => `${target(p)} (${p.integrity}):\n${formatAttempts(attempts.get(p.package)!).replace(/^/gm, '  ')}`);
    const more = missing.length > LISTED ? `\n… and ${missing.length - LISTED} more` : '';
    const of = options.image === undefined ? '' : ` of image "${options.image}"`;
    throw new ImageError('KILN_IMAGE_APT', `no source has ${missing.length} of the ${pins.length} pinned packages${of}:\n${listed.join('\n')}${more}`, {
      hint: `run \`apt-get update\` first; ${unavailableHint(options.image ?? '<image>', true)}`,
    });
  }
  return pins.map((p) => out.get(p.package)!);
}

/** Runs `work` for every pin, DOWNLOADS_AT_ONCE at a time; the first error (an abort, a store failure) is thrown. */
async function eachAtOnce(pins: DebianPackagePin[], work: (pin: DebianPackagePin) => Promise<void>): Promise<void> {
  const queue = new PQueue({ concurrency: DOWNLOADS_AT_ONCE });
  const results = await Promise.allSettled(pins.map((pin) => queue.add(() => work(pin))));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * ONE `apt-get download` of every pin in a fresh temp folder, each file then stored verified.
 * apt downloads nothing when it lacks any one version, so after a failure apt is asked which
 * it has (`--print-uris`, from its local index: no download) and those are downloaded alone.
 * Returns why each pin that did not arrive failed.
 */
async function downloadWithApt(
  store: Store,
  pins: DebianPackagePin[],
  stored: (pin: DebianPackagePin, put: PutResult) => Promise<void>,
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  const failures = new Map<string, string>();
  let result = await download(store, pins, stored, signal);
  if (result.ok) return failures;
  const listing = await runTool('apt-get', ['download', '--print-uris', '--', ...pins.map(target)], { cwd: tmpdir(), ...(signal && { signal }), env: { LC_ALL: 'C' } });
  const known = new Set(parseInstallPrintUris(listing.stdout).map((u) => `${u.package}_${u.version}_${u.arch}`));
  const has = pins.filter((p) => known.has(`${p.package}_${p.version}_${p.arch}`));
  for (const pin of pins) if (!has.includes(pin)) failures.set(pin.package, aptMissingReason(listing.stderr, pin) ?? `apt has no ${target(pin)}`);
  if (has.length > 0 && has.length < pins.length) {
    result = await download(store, has, stored, signal);
    if (result.ok) return failures;
  }
  for (const pin of has) failures.set(pin.package, result.reason);
  return failures;
}

/** apt's own line about one pin (`E: Version '…' for '…' was not found`), when it printed one. */
function aptMissingReason(stderr: string, pin: DebianPackagePin): string | undefined {
  return stderr.split('\n').find((l) => l.startsWith('E: ') && l.includes(`'${pin.version}'`) && l.includes(`'${pin.package}`))?.slice(3);
}

async function download(
  store: Store,
  pins: DebianPackagePin[],
  stored: (pin: DebianPackagePin, put: PutResult) => Promise<void>,
  signal?: AbortSignal,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-apt-'));
  try {
    const result = await runTool('apt-get', ['download', '--', ...pins.map(target)], { cwd: dir, ...(signal && { signal }), env: { LC_ALL: 'C' } });
    if (result.error || result.code !== 0) return { ok: false, reason: result.error?.message ?? tail(result.stderr) };
    // apt names each file <package>_<version with %3a for the epoch>_<arch>.deb.
    const files = new Map<string, string>();
    for (const name of await readdir(dir)) {
      const m = /^([^_]+)_([^_]+)_([^_]+)\.deb$/.exec(name);
      if (m) files.set(`${m[1]}_${decodeURIComponent(m[2]!)}_${m[3]}`, name);
    }
    for (const pin of pins) {
      const file = files.get(`${pin.package}_${pin.version}_${pin.arch}`);
      if (!file) return { ok: false, reason: `apt-get download did not produce ${pin.package}_${pin.version}_${pin.arch}.deb` };
      // A wrong .deb never enters the store: putFile verifies while it copies.
      const put = await store.putFile(join(dir, file), { integrity: pin.integrity, ...(signal && { signal }) }).catch((err: unknown) => {
        if (err instanceof StoreError && err.code === 'KILN_STORE_INTEGRITY') return `refused ${file}: the bytes do not match the pin (found ${err.found})`;
        throw err;
      });
      if (typeof put === 'string') return { ok: false, reason: put };
      await stored(pin, put);
    }
    return { ok: true };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
