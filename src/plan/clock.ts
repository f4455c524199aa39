import type { ImageRef, Mount } from '../sandbox/types.js';
import type { Digest } from '../util/digest.js';
import { planImplicitAction, scratchMounts, type ActionContext, type PlannedAction } from './layout.js';
import { KILN_OUT_DIR, KILN_WORK_DIR, stepScript } from './plan.js';

/**
 * `kiln check`'s `time` with a shifted clock: libfaketime preloaded into every process of a
 * step, so `time()`, `gettimeofday()` and `clock_gettime(CLOCK_REALTIME)` answer a moment far
 * from the real one. It reaches only dynamically linked programs (static ones, such as
 * busybox-static or Go binaries, read the kernel's clock), and file timestamps the kernel sets
 * stay real; the time build also runs later in real time, which covers both.
 */

/** Where Debian (and most distributions) install libfaketime: the image's own copy is preferred. */
export const IMAGE_FAKETIME_PATHS: readonly string[] = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
  '/usr/lib64/faketime/libfaketime.so.1',
];
/** Where kiln places a libfaketime it brings (the check's host copy) when the image has none. */
export const INJECTED_FAKETIME_PATH = '/kiln/check/libfaketime.so.1';

/** The clock shift a build asks for, and the library kiln may inject. */
export interface ClockShift {
  /** Seconds added to the real-time clock the step reads. */
  offsetSeconds: number;
  /** A libfaketime.so.1 in the store, placed at INJECTED_FAKETIME_PATH for images without one. */
  library?: { digest: Digest; size: number };
}

/** How one image's steps got the shifted clock; recorded in build.json. */
export type ClockMethod =
  | { method: 'libfaketime'; source: 'image' | 'injected'; library: string; offsetSeconds: number }
  | { method: 'none'; reason: string };

/** The variables that turn libfaketime on. Stat results stay real (NO_FAKE_STAT): make and tar compare real mtimes. */
export function faketimeEnv(library: string, offsetSeconds: number, preload?: string): Record<string, string> {
  return {
    LD_PRELOAD: preload ? `${library}:${preload}` : library,
    FAKETIME: `+${offsetSeconds}`,
    NO_FAKE_STAT: '1',
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  };
}

/** The injected library as a read-only mount. */
export function injectedFaketimeMount(library: NonNullable<ClockShift['library']>): Mount {
  return { path: INJECTED_FAKETIME_PATH, source: { kind: 'file', digest: library.digest, size: library.size, executable: false }, writable: false, owner: 'root' };
}

/**
 * The probe of one image, pure: for each candidate library, the image's `date` with it
 * preloaded and without, written as `<library> <faked seconds> <real seconds>` lines. A
 * library that cannot load (absent, or built for another C library) makes `date` fail and is
 * skipped; a static `date` shows no shift. Run as the steps run (user, limits, no network).
 */
export function planClockProbe(imageName: string, image: ImageRef, shell: readonly string[], shift: ClockShift, context: ActionContext): PlannedAction {
  const { profile } = context.profile;
  const candidates = [...IMAGE_FAKETIME_PATHS, ...(shift.library ? [INJECTED_FAKETIME_PATH] : [])];
  const env = faketimeEnv('$lib', shift.offsetSeconds);
  const preloaded = Object.entries(env).map(([k, v]) => `${k}="${v}"`).join(' ');
  const script = [
    `for lib in ${candidates.join(' ')}; do`,
    '  [ -r "$lib" ] || continue',
    `  faked=$(${preloaded} date -u +%s 2>/dev/null) || continue`,
    '  echo "$lib $faked $(date -u +%s)"',
    `done > ${KILN_OUT_DIR}/clock`,
  ].join('\n');
  const argv = [...shell, stepScript(profile, script)];
  const mounts: Mount[] = [...(shift.library ? [injectedFaketimeMount(shift.library)] : []), ...scratchMounts(KILN_WORK_DIR)];
  return planImplicitAction({
    name: `clock:${imageName}`, image, argv, env: { KILN_OUT: KILN_OUT_DIR }, user: '1000:1000', mounts,
    engine: { clock: { offsetSeconds: shift.offsetSeconds, ...(shift.library && { library: shift.library.digest }) } },
  }, context);
}

/** How far a faked clock may be from real + offset and still count as shifted (the two `date` runs are a moment apart). */
const PROBE_SLACK_SECONDS = 120;

/**
 * Pure: the method the probe's output allows, preferring the image's own library (built for
 * its C library) over the injected one.
 */
export function clockMethodFromProbe(text: string, shift: ClockShift): ClockMethod {
  const seen: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+) (\d+) (\d+)$/.exec(line.trim());
    if (!m) continue;
    const [library, faked, real] = [m[1]!, Number(m[2]), Number(m[3])];
    seen.push(library);
    if (Math.abs(faked - real - shift.offsetSeconds) <= PROBE_SLACK_SECONDS) {
      return { method: 'libfaketime', source: library === INJECTED_FAKETIME_PATH ? 'injected' : 'image', library, offsetSeconds: shift.offsetSeconds };
    }
  }
  if (seen.length > 0) return { method: 'none', reason: `libfaketime loads (${seen.join(', ')}) but the image's date shows no shift: its programs read the clock without libc` };
  return { method: 'none', reason: shift.library ? 'the image has no libfaketime, and the injected one does not load there' : 'the image has no libfaketime, and none was given to inject' };
}
