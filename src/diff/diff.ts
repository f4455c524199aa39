import { writeFile } from 'node:fs/promises';
import { diffPaths } from './compare.js';
import { toHtml } from './render.js';
import type { DiffOptions, DiffReport } from './types.js';

export interface DiffFilesOptions extends DiffOptions {
  /** Also write the report as one self-contained HTML page to this file. */
  html?: string;
}

/** `kiln diff` as one call: compares two files or folders (diffPaths) and writes the HTML report when asked. */
export async function diff(a: string, b: string, options: DiffFilesOptions = {}): Promise<DiffReport> {
  const report = await diffPaths(a, b, options);
  if (options.html !== undefined) await writeFile(options.html, toHtml(report));
  return report;
}
