import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ArchiveError } from './errors.js';

export type Compression = 'none' | 'gzip' | 'xz' | 'bzip2' | 'zstd';

export interface Decompression {
  /** The decompressed bytes; errors of the source are forwarded to it. */
  stream: Readable;
  /** Settles when the decompressor has exited; rejects with its failure (a tool's exit status). */
  done: Promise<void>;
  /** Stops the decompressor early (the reader gave up). */
  abort(): void;
}

/** xz, bzip2 and zstd run as child processes: Debian's tools, streamed, faster than any JS port. */
const TOOLS = {
  xz: { command: 'xz', package: 'xz-utils' },
  bzip2: { command: 'bzip2', package: 'bzip2' },
  zstd: { command: 'zstd', package: 'zstd' },
} as const;

const STDERR_LIMIT = 4096;

/**
 * Calls `fail` with the source's error, also when it came before anyone listened: a stream
 * handed over after an await (a .deb's member, whose archive ended early) may have failed
 * already, and a listener added then would wait forever for an end that never comes.
 */
export function onSourceError(source: Readable, fail: (err: Error) => void): void {
  if (source.errored) {
    const err = source.errored;
    queueMicrotask(() => fail(err));
    return;
  }
  if (source.destroyed && !source.readableEnded) {
    queueMicrotask(() => fail(new Error('the stream was closed before its end')));
    return;
  }
  source.on('error', fail);
}

export function decompress(compression: Compression, source: Readable, label: string): Decompression {
  switch (compression) {
    case 'none':
      return { stream: source, done: Promise.resolve(), abort: () => source.destroy() };
    case 'gzip': {
      const gunzip = createGunzip();
      onSourceError(source, (err) => gunzip.destroy(err));
      source.pipe(gunzip);
      return {
        stream: gunzip,
        done: Promise.resolve(),
        abort: () => {
          source.destroy();
          gunzip.destroy();
        },
      };
    }
    case 'xz':
    case 'bzip2':
    case 'zstd':
      return spawnTool(compression, source, label);
  }
}

function spawnTool(compression: keyof typeof TOOLS, source: Readable, label: string): Decompression {
  const tool = TOOLS[compression];
  const child = spawn(tool.command, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < STDERR_LIMIT) stderr += chunk.toString('utf8');
  });
  // EPIPE when the tool exits before reading everything: its exit status tells what happened.
  child.stdin.on('error', () => {});
  onSourceError(source, (err) => {
    child.kill();
    child.stdout.destroy(err);
  });
  source.pipe(child.stdin);
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      source.destroy();
      if (err.code === 'ENOENT') {
        reject(
          new ArchiveError('KILN_ARCHIVE_TOOL_MISSING', `${label}: \`${tool.command}\` is needed to read ${compression} data and was not found`, {
            label,
            cause: err,
            hint: `install it (Debian: apt-get install ${tool.package})`,
          }),
        );
      } else {
        reject(new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: running ${tool.command}: ${err.message}`, { label, cause: err }));
      }
    });
    child.on('close', (code) => {
      // Death by a signal: the reader stopped early (SIGPIPE, abort); its own error stands.
      if (code === 0 || code === null) resolve();
      else {
        reject(new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: ${tool.command} -dc exited with ${code}: ${stderr.trim()}`, { label }));
      }
    });
  });
  // Read by the caller after the stream ends; never an unhandled rejection meanwhile.
  done.catch(() => {});
  return {
    stream: child.stdout,
    done,
    abort: () => {
      source.unpipe(child.stdin);
      source.destroy();
      child.kill();
    },
  };
}
