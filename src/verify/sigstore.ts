import { createRequire } from 'node:module';

/**
 * The Sigstore libraries, loaded on first use. They cost ~75 ms to load, which a `kiln verify`
 * of kiln's own key-signed envelopes never needs; all four are CommonJS, so a synchronous
 * require keeps the verification functions synchronous.
 */
export interface SigstoreLibraries {
  bundle: typeof import('@sigstore/bundle');
  core: typeof import('@sigstore/core');
  verify: typeof import('@sigstore/verify');
  /** Installed with @sigstore/verify (its own dependency, same version): the TrustedRoot codec. */
  specs: typeof import('@sigstore/protobuf-specs');
}

let loaded: SigstoreLibraries | undefined;

export function sigstore(): SigstoreLibraries {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  loaded = {
    bundle: require('@sigstore/bundle') as SigstoreLibraries['bundle'],
    core: require('@sigstore/core') as SigstoreLibraries['core'],
    verify: require('@sigstore/verify') as SigstoreLibraries['verify'],
    specs: require('@sigstore/protobuf-specs') as SigstoreLibraries['specs'],
  };
  return loaded;
}
