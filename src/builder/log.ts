import { PassThrough } from 'node:stream';
import type { Store } from '../store/index.js';
import type { Digest } from '../util/digest.js';

const TAIL_LINES = 200;

/**
 * A step's log: streamed into the store as it arrives (never held whole), split into lines
 * per stream for the live display, with only the last lines kept in memory for error reports.
 */
export class LogSink {
  private readonly body = new PassThrough();
  private readonly stored: Promise<Digest>;
  private readonly partial = { stdout: '', stderr: '' };
  private readonly tail: string[] = [];

  constructor(store: Store, private readonly onLine: (stream: 'stdout' | 'stderr', line: string) => void) {
    this.stored = store.putStream(this.body).then((r) => r.digest);
    // Keep the promise from being reported unhandled before close() awaits it.
    this.stored.catch(() => undefined);
  }

  write(chunk: Buffer, stream: 'stdout' | 'stderr'): void {
    this.body.write(chunk);
    const text = this.partial[stream] + chunk.toString('utf8');
    const lines = text.split('\n');
    this.partial[stream] = lines.pop()!;
    for (const line of lines) this.emit(stream, line);
  }

  private emit(stream: 'stdout' | 'stderr', line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.onLine(stream, line);
  }

  /** Ends the log; resolves to its digest in the store. */
  async close(): Promise<Digest> {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream]) this.emit(stream, this.partial[stream]);
      this.partial[stream] = '';
    }
    this.body.end();
    return this.stored;
  }

  text(): string {
    return this.tail.join('\n');
  }
}

export function lastLines(text: string, n: number): string[] {
  const lines = text.split('\n');
  return lines.slice(Math.max(0, lines.length - n));
}
