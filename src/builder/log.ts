import { PassThrough } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Store } from '../store/index.js';
import type { Digest } from '../util/digest.js';

const TAIL_LINES = 200;
/**
 * Longest line handed to the display, in UTF-16 units: a longer line, or output that never
 * ends its line, is cut into pieces of this size as it arrives. Each byte is looked at once:
 * a step printing 16 MiB without a newline costs linear time, not a re-split per chunk.
 */
export const LOG_LINE_MAX = 4096;
/** Default cap on a step's stored log (budget maxLogBytes): its first and last halves are kept. */
export const DEFAULT_MAX_LOG_BYTES = 8 * 1024 * 1024;

export interface LogSinkOptions {
  /** Bytes of the log kept in the store (default DEFAULT_MAX_LOG_BYTES): the head and the tail, each half. */
  maxBytes?: number;
}

/**
 * A step's log: streamed into the store as it arrives, up to a cap (the first half of the
 * budget goes to the store at once; the last half is held until the end, and what falls
 * between is dropped and counted, with a line saying so in its place). Split into lines per
 * stream for the live display, with only the last lines kept in memory for error reports.
 */
export class LogSink {
  private readonly body = new PassThrough();
  private readonly stored: Promise<Digest>;
  private readonly partial = { stdout: '', stderr: '' };
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  private readonly tail: string[] = [];
  private readonly headCap: number;
  private readonly tailCap: number;
  private headBytes = 0;
  /** The last bytes past the head, at most tailCap of them. */
  private readonly storedTail: Buffer[] = [];
  private storedTailBytes = 0;
  /** Bytes dropped from the middle of the stored log. */
  dropped = 0;

  constructor(store: Store, private readonly onLine: (stream: 'stdout' | 'stderr', line: string) => void, options: LogSinkOptions = {}) {
    const max = Math.max(0, options.maxBytes ?? DEFAULT_MAX_LOG_BYTES);
    this.headCap = Math.floor(max / 2);
    this.tailCap = max - this.headCap;
    this.stored = store.putStream(this.body).then((r) => r.digest);
    // Keep the promise from being reported unhandled before close() awaits it.
    this.stored.catch(() => undefined);
  }

  write(chunk: Buffer, stream: 'stdout' | 'stderr'): void {
    this.store(chunk);
    const text = this.decoders[stream].write(chunk);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      this.emitLine(stream, this.partial[stream] + text.slice(start, nl));
      this.partial[stream] = '';
      start = nl + 1;
    }
    let rest = this.partial[stream] + text.slice(start);
    while (rest.length >= LOG_LINE_MAX) {
      this.emit(stream, rest.slice(0, LOG_LINE_MAX));
      rest = rest.slice(LOG_LINE_MAX);
    }
    this.partial[stream] = rest;
  }

  private store(chunk: Buffer): void {
    let rest = chunk;
    if (this.headBytes < this.headCap) {
      const take = Math.min(this.headCap - this.headBytes, rest.length);
      this.body.write(rest.subarray(0, take));
      this.headBytes += take;
      rest = rest.subarray(take);
    }
    if (rest.length === 0) return;
    this.storedTail.push(rest);
    this.storedTailBytes += rest.length;
    // Drop whole chunks, then trim the oldest: the tail never holds more than tailCap bytes.
    while (this.storedTail.length > 0 && this.storedTailBytes - this.storedTail[0]!.length >= this.tailCap) {
      const first = this.storedTail.shift()!;
      this.storedTailBytes -= first.length;
      this.dropped += first.length;
    }
    const over = this.storedTailBytes - this.tailCap;
    if (over > 0) {
      this.storedTail[0] = this.storedTail[0]!.subarray(over);
      this.storedTailBytes -= over;
      this.dropped += over;
    }
  }

  /** A complete line, in pieces of at most LOG_LINE_MAX. */
  private emitLine(stream: 'stdout' | 'stderr', line: string): void {
    let rest = line;
    while (rest.length > LOG_LINE_MAX) {
      this.emit(stream, rest.slice(0, LOG_LINE_MAX));
      rest = rest.slice(LOG_LINE_MAX);
    }
    this.emit(stream, rest);
  }

  private emit(stream: 'stdout' | 'stderr', line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.onLine(stream, line);
  }

  /** Ends the log; resolves to its digest in the store. */
  async close(): Promise<Digest> {
    for (const stream of ['stdout', 'stderr'] as const) {
      const last = this.partial[stream] + this.decoders[stream].end();
      if (last) this.emit(stream, last);
      this.partial[stream] = '';
    }
    if (this.dropped > 0) {
      this.body.write(
        `\n[kiln: ${this.dropped} bytes dropped here: the stored log is capped at ${this.headCap + this.tailCap} bytes (maxLogBytes), its first ${this.headCap} and last ${this.tailCap} bytes are kept]\n`,
      );
    }
    for (const chunk of this.storedTail) this.body.write(chunk);
    this.storedTail.length = 0;
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
