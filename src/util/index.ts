export { KilnError, UsageError, formatLocation, isKilnError } from './errors.js';
export type { KilnErrorOptions, SourceLocation, UsageErrorCode } from './errors.js';
export { canonicalJSON } from './canonical-json.js';
export { DIGEST_PATTERN, HASH_CHUNK_BYTES, digestHex, isDigest, sha256Digest, toDigest } from './digest.js';
export type { Digest } from './digest.js';
export { escapeTerminal, escapeTerminalLines } from './terminal.js';
export { showValue } from './show-value.js';
export { isRelativePath, joinInside, MAX_RELATIVE_PATH_LENGTH, PathError, relativePathProblem } from './relative-path.js';
export type { PathErrorCode } from './relative-path.js';
