import { spawn } from 'node:child_process';

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The spawn failure (ENOENT: the tool is not installed). */
  error?: Error;
}

export interface ToolOptions {
  cwd: string;
  signal?: AbortSignal;
  env?: Record<string, string>;
}

/** Output kept per stream: the tools' answers are small; a runaway one must not fill memory. */
const OUTPUT_LIMIT = 4 * 1024 * 1024;

/**
 * Runs a client tool (npm, git, apt-get) with the user's own environment, so that its
 * configuration (registry, auth, proxy, credentials) applies; `env` adds to it. Never
 * rejects: the caller turns a failure into its FetchError with the tool's stderr.
 */
export function runTool(command: string, args: string[], options: ToolOptions): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      signal: options.signal,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < OUTPUT_LIMIT) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < OUTPUT_LIMIT) stderr += d;
    });
    let error: Error | undefined;
    child.on('error', (err) => (error = err));
    child.on('close', (code) => resolve({ code, stdout, stderr, ...(error && { error }) }));
  });
}

/** The last lines of a tool's stderr: enough to say why, short enough for one message. */
export function tail(text: string, lines = 6): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
