export { SandboxError } from './errors.js';
export type { SandboxErrorCode, SandboxErrorOptions } from './errors.js';
export { SANDBOX_PROFILE_PATH, defaultSandboxProfileFile, loadSandboxProfile, parseSandboxProfile, toSandboxProfile } from './profile.js';
export { createEngine, ENGINE_KINDS, resolveEngineKind } from './engine.js';
export type { EngineConfig } from './engine.js';
export type {
  ActionLimits, Engine, EngineAction, EngineFeature, EngineKind, EngineResult, EngineRunIO, ExecutorRecord, ImagePreparation, ImageRef, LoadedSandboxProfile,
  Mount, MountSource, SandboxException, SandboxLimits, SandboxProfile,
} from './types.js';
