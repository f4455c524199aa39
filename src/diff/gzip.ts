export { GZIP_HEADER_FIELDS, parseGzipHeader } from '../archive/gzip.js';
export type { GzipHeader } from '../archive/gzip.js';

/** Bytes enough for any sane gzip header (name and comment included). */
export const GZIP_HEAD_BYTES = 64 * 1024;

