export { build, PLATFORM } from './build.js';
export type { BuildOptions, BuildVariation } from './build.js';
export { exportArtifacts, selectArtifacts } from './artifacts.js';
export { BuildError } from './errors.js';
export type { BuildErrorCode } from './errors.js';
export type { BuildEvent, BuildReporter } from './events.js';
export { BUILD_SUMMARY_FILE, BUILD_SUMMARY_FORMAT, writeBuildSummary } from './summary.js';
export type { ArtifactSummary, BuildSummary, StepSummary } from './summary.js';
