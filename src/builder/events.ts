import type { ActionOrigin } from '../store/types.js';
import type { Digest } from '../util/digest.js';

/** What a build reports as it goes; renderers (terminal, plain lines, JSON) subscribe. */
export type BuildEvent =
  | { type: 'plan'; steps: string[]; inputs: string[] }
  | { type: 'fetch-start'; input: string }
  | { type: 'fetch-progress'; input: string; bytes: number; total?: number }
  | { type: 'fetch-done'; input: string; cached: boolean; size: number }
  | { type: 'step-queued'; step: string }
  | { type: 'step-start'; step: string; actionKey: Digest }
  | { type: 'step-cached'; step: string; actionKey: Digest; origin?: ActionOrigin }
  | { type: 'step-done'; step: string; durationMs: number; outputTree: Digest }
  | { type: 'step-failed'; step: string; exitCode?: number; reason: string }
  | { type: 'image'; image: string; action: 'import' | 'pull' | 'present' }
  | { type: 'log'; step: string; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'artifact'; name: string; sha256: string; size: number }
  /** Something about the shared cache the user should know (an entry refused, the server unreachable, an upload that failed); the build goes on. */
  | { type: 'cache-warning'; message: string; step?: string };

export type BuildReporter = (event: BuildEvent) => void;
