export { SandboxError } from './errors.js';
export type { SandboxErrorCode, SandboxErrorOptions } from './errors.js';
export { SANDBOX_PROFILE_PATH, defaultSandboxProfileFile, loadSandboxProfile, parseSandboxProfile, toSandboxProfile } from './profile.js';
export { EXCEPTION_LABEL, STEP_LABEL, TREE_IMAGE_REPO, createDockerEngine, parseOciRef, toContainerCreateOptions } from './docker.js';
export type { DockerEngineOptions } from './docker.js';
export type { Engine, EngineInfo, EngineVariation, LoadedSandboxProfile, SandboxException, SandboxProfile, StepRun, StepRunResult } from './types.js';
