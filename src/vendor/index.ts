export { VendorError } from './errors.js';
export type { VendorErrorCode } from './errors.js';
export { MAX_INDEX_BLOBS, MAX_INDEX_BYTES, mergeVendorIndexes, parseVendorIndex, VENDOR_FORMAT, VENDOR_INDEX_FILE, vendorIndexToText } from './format.js';
export type { VendorBlob, VendorIndex, VendorUse } from './format.js';
export { vendorRecipe } from './vendor.js';
export type { VendorOptions, VendorResult } from './vendor.js';
export { checkVendorFolder } from './check.js';
export type { VendorCheckOptions, VendorCheckReport } from './check.js';
