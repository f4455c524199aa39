/**
 * Every ref namespace kiln writes, in one place: a ref is a GC root from a name to a blob, and
 * a namespace says what the name is. A closed set, so a typo is a type error, not a cache miss.
 */
export const REF = {
  /** An SRI (a pin) → the blob fetched for it: a second fetch needs no network. */
  integrity: 'integrity',
  /** A fetched archive's blob → its unpacked tree (`unpack: true`). */
  unpacked: 'unpacked',
  /** A source package's .dsc blob → its unpacked tree. */
  debsrc: 'debsrc',
  /** A .deb blob → its data tree (a debian image's stage 1 merges the base packages' ones). */
  debData: 'deb-data',
  /** A .deb blob → its control file (stage 1 finds the base packages' dependencies in it). */
  debControl: 'deb-control',
  /** A rootfs tarball's blob → its tree. */
  rootfs: 'rootfs',
  /** A debian image's pin set → its stage-1 base tree (the required set and its dependencies). */
  debianBase: 'debian-base',
  /** A debian image's pin set → its package folder (the .debs and their lists), the assembly's input. */
  debianPackages: 'debian-packages',
  /** An SBOM's content key → the SBOM blob. */
  sbom: 'sbom',
} as const;

export type RefNamespace = (typeof REF)[keyof typeof REF];
