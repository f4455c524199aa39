import type { DiffClass, DiffSummary, Difference, RawDifference } from './types.js';

/**
 * The likely cause of a difference. Presence (added/removed) aside, every kind maps to one
 * class of the list; a kind that names no metadata (type, link target, format, other
 * header fields, unexplained bytes) is content: the bytes a user receives differ.
 */
export function classify(d: RawDifference): DiffClass {
  switch (d.kind) {
    case 'added':
    case 'removed':
      return 'presence';
    case 'timestamp':
      return 'timestamp';
    case 'permissions':
      return 'permissions';
    case 'ownership':
      return 'ownership';
    case 'ordering':
      return 'ordering';
    case 'size':
      return 'size';
    case 'gzip-header':
      return d.detail.field === 'mtime' ? 'timestamp' : 'content';
    case 'metadata':
      // pax atime/ctime and the like arrive here only under other names; their kind is 'timestamp'.
      return 'content';
    case 'text':
    case 'binary':
    case 'link-target':
    case 'type':
    case 'format':
    case 'bytes':
    case 'unreadable':
    case 'too-large':
      return 'content';
  }
}

export function toDifference(d: RawDifference): Difference {
  return { ...d, class: classify(d) };
}

export function emptySummary(): DiffSummary {
  return { content: 0, timestamp: 0, ordering: 0, permissions: 0, ownership: 0, size: 0, presence: 0 };
}

/** Counts by class. */
export function summarize(differences: readonly Difference[]): DiffSummary {
  const summary = emptySummary();
  for (const d of differences) summary[d.class]++;
  return summary;
}
