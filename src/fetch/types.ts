import type { Digest } from '../util/digest.js';
import type { InputSpec } from '../recipe/types.js';
import type { Sources } from './sources.js';

/** What a step sees at /kiln/inputs/<name>: the file itself, or a folder. */
export type InputMount =
  | { kind: 'file'; digest: Digest; size: number; executable: boolean }
  | { kind: 'tree'; tree: Digest };

export interface FetchedInput {
  name: string;
  kind: InputSpec['kind'];
  /** sha256 of what `integrity` pins: the fetched bytes, or a folder's tree manifest. */
  digest: Digest;
  /** The recipe's SRI, verified. */
  integrity: string;
  size: number;
  /** For provenance `resolvedDependencies`: the URL, a purl (`pkg:deb/…`, `pkg:npm/…`, `pkg:deb/…?arch=source` for debsrc), `git+<url>@<commit>`, or `file:<path relative to the recipe>`. */
  uri: string;
  mount: InputMount;
  /** true when nothing had to be downloaded or read: the store had it by integrity. */
  cached: boolean;
}

export interface FetchOptions {
  /** The recipe's folder: relative `path` inputs resolve against it. */
  recipeDir: string;
  /**
   * Whether `file:` URLs may be read (a debsrc `dsc`, a git `file://` repository); default
   * true. A rebuild sets false: a provenance from someone else must not read the rebuilder's
   * files, which enter only as `path` inputs supplied with `--input`.
   */
  allowFileUrls?: boolean;
  signal?: AbortSignal;
  onProgress?: (input: string, bytes: number, total?: number) => void;
  /** Mirrors and the Debian snapshot service, tried around the upstream (resolveSources). Default: none. */
  sources?: Sources;
}
