export { SandboxError } from './errors.js';
export type { SandboxErrorCode, SandboxErrorOptions } from './errors.js';
export { SANDBOX_PROFILE_PATH, defaultSandboxProfileFile, loadSandboxProfile, parseSandboxProfile, toSandboxProfile } from './profile.js';
export { checkEngineChoice, createEngine, ENGINE_KINDS, parseKeyValues, resolveEngineKind, resolveRemoteConfig } from './engine.js';
export type { EngineChoice, EngineConfig, RemoteEngineConfig } from './engine.js';
export { assertRemoteRunnable, planRemoteAction, STAGING_DIR } from './remote-layout.js';
export type { RemoteActionInputs, RemoteActionPlan, RemoteFarm } from './remote-layout.js';
export type {
  ActionLimits, Engine, EngineAction, EngineFeature, EngineKind, EngineResult, EngineRunIO, ExecutorRecord, ImagePreparation, ImageRef, LoadedSandboxProfile,
  Mount, MountSource, SandboxException, SandboxLimits, SandboxProfile,
} from './types.js';
