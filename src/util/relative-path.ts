import { isAbsolute, relative, resolve, sep } from 'node:path';
import { KilnError } from './errors.js';

/** Longest name accepted (bytes of UTF-16 code units; PATH_MAX on Linux is 4096). */
export const MAX_RELATIVE_PATH_LENGTH = 4096;

/**
 * Why `name` is not a normalized relative POSIX path, or undefined when it is one: what kiln
 * accepts where a name from someone else's file becomes a path under a folder of ours (a
 * provenance subject under `--out` and `--original`). Rules: not empty, at most
 * MAX_RELATIVE_PATH_LENGTH characters, not absolute, no empty, `.` or `..` segment (so no
 * trailing or doubled `/`), no NUL or other control character, no backslash (a separator on
 * Windows, and a way to hide `..\..` from a check that only splits on `/`).
 *
 * Pure. Examples: `hello-1.0.tar.gz`, `dist/a.whl` pass; `../x`, `/etc/passwd`, `a//b`,
 * `./a`, `a\..\b`, `a\nb` do not.
 */
export function relativePathProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_RELATIVE_PATH_LENGTH) return `is longer than ${MAX_RELATIVE_PATH_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'contains a control character';
  if (name.includes('\\')) return 'contains a backslash';
  if (name.startsWith('/')) return 'is an absolute path';
  for (const segment of name.split('/')) {
    if (segment === '') return 'has an empty path segment';
    if (segment === '.' || segment === '..') return `has a "${segment}" path segment`;
  }
  return undefined;
}

export function isRelativePath(name: string): boolean {
  return relativePathProblem(name) === undefined;
}

export type PathErrorCode = 'KILN_PATH_OUTSIDE';

/** A path that would land outside the folder it was meant for (exit 2). */
export class PathError extends KilnError {
  readonly code: PathErrorCode = 'KILN_PATH_OUTSIDE';
}

/**
 * `root` joined with `name`, checked to stay strictly inside `root` (lexically, after
 * resolving `.` and `..`): the one place kiln puts a name it did not choose under a folder.
 * Throws PathError naming both otherwise. Callers validate names first (relativePathProblem)
 * to refuse with their own words; this is the guard that holds even when they forget.
 */
export function joinInside(root: string, name: string): string {
  const base = resolve(root);
  const full = resolve(base, name);
  const rel = relative(base, full);
  if (name.includes('\0') || rel === '' || isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`)) {
    throw new PathError(`${JSON.stringify(name)} is not a path inside ${base}`, { expected: `a relative path inside ${base}`, found: name });
  }
  return full;
}
