import { SandboxError } from './errors.js';
import type { Engine, EngineKind, SandboxProfile } from './types.js';

/** Every backend kiln has; `--engine` and KILN_ENGINE name one of these. */
export const ENGINE_KINDS: readonly EngineKind[] = ['docker'];

export interface EngineConfig {
  /** Default: $KILN_ENGINE, else `docker`. */
  kind?: string;
  profile: SandboxProfile;
}

/** The backend a name asks for; an unknown name is bad usage (exit 2), never a silent default. */
export function resolveEngineKind(name: string | undefined = process.env.KILN_ENGINE): EngineKind {
  const kind = name === undefined || name === '' ? 'docker' : name;
  if (!(ENGINE_KINDS as readonly string[]).includes(kind)) {
    throw new SandboxError('KILN_SANDBOX_BAD_ENGINE', `unknown engine "${kind}"`, { expected: ENGINE_KINDS.join(' | '), found: kind });
  }
  return kind as EngineKind;
}

/**
 * The engine a build runs its actions on. Each backend is loaded only when chosen, so a build
 * served from the cache loads none.
 */
export async function createEngine(config: EngineConfig): Promise<Engine> {
  const kind = resolveEngineKind(config.kind);
  switch (kind) {
    case 'docker': {
      const { createDockerEngine } = await import('./docker.js');
      return createDockerEngine({ profile: config.profile });
    }
  }
}
