export { ImageError } from './errors.js';
export type { ImageErrorCode } from './errors.js';
export { assertAssemblable, DEBIAN_PACKAGE_PATTERN, parseInstallPrintUris, requiredPackages, resolveDebianPackages } from './apt.js';
export type { AptUri, ResolveDebianOptions } from './apt.js';
export { fetchDebianPackages } from './fetch.js';
export type { FetchDebsOptions, FetchedDeb } from './fetch.js';
export { DEB_CACHE_DIR, debianStage1Tree, MERGED_USR_DIRS, mergeDebianTrees, mergedUsrPath, packageLists } from './rootfs.js';
export type { DebianTreePart } from './rootfs.js';
export { DEBIAN_ASSEMBLY_EXCEPTION, DEBIAN_ASSEMBLY_FORMAT, DEBIAN_ASSEMBLY_SCRIPT } from './assemble.js';
