import type { EntryMeta } from './entries.js';
import type { RawDifference } from './types.js';

const OWNERSHIP = ['uid', 'gid', 'uname', 'gname'] as const;
const TIMES = ['mtime', 'atime', 'ctime'] as const;

/**
 * The metadata differences of two entries at `path`: type first (when the types differ,
 * nothing else is compared: a file's mode against a folder's says nothing), then link
 * target, permissions, ownership, times and the format's other fields. Size and content are
 * the content comparison's. Pure.
 */
export function metaDifferences(path: string[], a: EntryMeta, b: EntryMeta): RawDifference[] {
  if (a.type !== b.type) return [{ path, kind: 'type', detail: { a: a.type, b: b.type } }];
  const out: RawDifference[] = [];
  if (a.linkTarget !== b.linkTarget) out.push({ path, kind: 'link-target', detail: { a: a.linkTarget ?? null, b: b.linkTarget ?? null } });
  if (a.mode !== b.mode) out.push({ path, kind: 'permissions', detail: { a: a.mode ?? null, b: b.mode ?? null } });
  for (const field of OWNERSHIP) {
    if (a[field] !== b[field]) out.push({ path, kind: 'ownership', detail: { field, a: a[field] ?? null, b: b[field] ?? null } });
  }
  for (const field of TIMES) {
    if (a[field] !== b[field]) out.push({ path, kind: 'timestamp', detail: { field, a: a[field] ?? null, b: b[field] ?? null } });
  }
  const ea = a.extra ?? {};
  const eb = b.extra ?? {};
  for (const field of [...new Set([...Object.keys(ea), ...Object.keys(eb)])].sort()) {
    if (ea[field] !== eb[field]) out.push({ path, kind: 'metadata', detail: { field, a: ea[field] ?? null, b: eb[field] ?? null } });
  }
  return out;
}
