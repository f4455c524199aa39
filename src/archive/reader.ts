import type { Hash } from 'node:crypto';
import { Readable, type Writable } from 'node:stream';

/**
 * A pull-based byte reader, what every archive reader here parses from. Its consumer asks for
 * bytes when it needs them: the tar and ar readers take exact header sizes and hand out
 * member bodies as bounded readers over the same bytes, and kiln diff drives two of them in
 * lock-step (one per side), so memory holds a chunk or two per side whatever the size of the
 * data; Node streams push, which makes both awkward.
 * One consumer at a time: a second `next()` while one is pending is a bug, and throws.
 */
export class Reader {
  /** Bytes given back with `unshift`, read again first (a stack: the last pushed is the next read). */
  private readonly pending: Buffer[] = [];
  private ended = false;
  private busy = false;

  constructor(
    private readonly source: () => Promise<Buffer | null>,
    private readonly closer?: () => Promise<unknown>,
  ) {}

  /**
   * `eager`: start reading at once. A child process's stdout needs it: Node's iterator attaches
   * its listeners only on the first `next()`, and a child that exits before that has its
   * unread output resumed into nothing (child_process flushStdio).
   */
  static fromStream(stream: Readable | AsyncIterable<Buffer>, options: { eager?: boolean } = {}): Reader {
    const it = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    let first: Promise<IteratorResult<Buffer>> | undefined;
    if (options.eager) {
      first = it.next();
      first.catch(() => {});
    }
    return new Reader(
      async () => {
        const pending = first ?? it.next();
        first = undefined;
        const r = await pending;
        return r.done ? null : (r.value as Buffer);
      },
      async () => it.return?.(),
    );
  }

  static fromBuffer(buffer: Buffer): Reader {
    let given = false;
    return new Reader(async () => {
      if (given) return null;
      given = true;
      return buffer;
    });
  }

  /** The next bytes, at most `max` of them (the rest stays for the next read); null at the end. */
  async next(max = Number.POSITIVE_INFINITY): Promise<Buffer | null> {
    let chunk = this.pending.pop();
    if (chunk === undefined) {
      if (this.ended) return null;
      if (this.busy) throw new Error('Reader.next called while a read is pending');
      this.busy = true;
      try {
        do chunk = (await this.source()) ?? undefined;
        while (chunk !== undefined && chunk.length === 0);
      } finally {
        this.busy = false;
      }
      if (chunk === undefined) {
        this.ended = true;
        return null;
      }
    }
    if (chunk.length > max) {
      this.pending.push(chunk.subarray(max));
      chunk = chunk.subarray(0, max);
    }
    return chunk;
  }

  unshift(chunk: Buffer): void {
    if (chunk.length > 0) this.pending.push(chunk);
  }

  /**
   * Up to `n` bytes: fewer only at the end. Within one chunk, a view of it (valid as long as
   * the chunk: see `fileReader`); across chunks, a copy.
   */
  async read(n: number): Promise<Buffer> {
    const first = await this.next(n);
    if (first === null) return Buffer.alloc(0);
    if (first.length === n) return first;
    const target = Buffer.allocUnsafe(n);
    first.copy(target);
    return target.subarray(0, first.length + (await this.fill(target, first.length)));
  }

  /** Copies up to `target.length - from` bytes into `target` from `from`; returns how many (fewer only at the end). */
  async fill(target: Buffer, from = 0): Promise<number> {
    let got = 0;
    while (from + got < target.length) {
      const c = await this.next(target.length - from - got);
      if (c === null) break;
      c.copy(target, from + got);
      got += c.length;
    }
    return got;
  }

  /** Up to `n` bytes from the front, left in place. */
  async peek(n: number): Promise<Buffer> {
    const head = await this.read(n);
    this.unshift(head);
    return head;
  }

  /** Skips up to `n` bytes; returns how many were skipped. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const c = await this.next(left);
      if (c === null) break;
      left -= c.length;
    }
    return n - left;
  }

  /**
   * Releases what backs the reader (a file descriptor, a stream) when it was not read to its
   * end; a no-op for readers over a part of another. Never while a read is pending.
   */
  async close(): Promise<void> {
    this.ended = true;
    this.pending.length = 0;
    await this.closer?.();
  }

  /** Reads to the end, dropping the bytes; returns their count. */
  async drain(): Promise<number> {
    let n = 0;
    for (;;) {
      const c = await this.next();
      if (c === null) return n;
      n += c.length;
    }
  }
}

/**
 * A reader of the next `size` bytes of `parent`; `left()` says how many it has not handed out.
 * When `parent` ends first, the read throws `truncated(missing)` (each format says it its way).
 */
export function boundedReader(parent: Reader, size: number, truncated: (missing: number) => Error): { reader: Reader; left: () => number } {
  let left = size;
  const reader = new Reader(async () => {
    if (left === 0) return null;
    const c = await parent.next(left);
    if (c === null) throw truncated(left);
    left -= c.length;
    return c;
  });
  return { reader, left: () => left };
}

/**
 * The reader's bytes as a Node stream (byte mode), for what takes one: the store, zlib, a
 * decompressor's stdin. Only for readers whose chunks stay valid once handed out (readers over
 * streams, not the ring of a file reader): the stream queues them.
 */
export function toReadable(reader: Reader): Readable {
  return Readable.from(chunksOf(reader), { objectMode: false });
}

async function* chunksOf(reader: Reader): AsyncGenerator<Buffer> {
  for (let c = await reader.next(); c !== null; c = await reader.next()) yield c;
}

/** A reader that feeds every byte it pulls from `inner` to `hash`, exactly once. */
export function hashingReader(inner: Reader, hash: Hash): Reader {
  return new Reader(async () => {
    const c = await inner.next();
    if (c !== null) hash.update(c);
    return c;
  });
}

/**
 * Writes the reader's bytes into `sink`, one chunk at a time, each awaited until the sink has
 * taken it (its write callback: for zlib, the input is consumed), so that a reader may reuse
 * its buffers; `copy` for sinks that keep chunks queued after that (a pipe to a child process).
 * Ends the sink at the end. Stops without error when the sink is destroyed (the consumer gave
 * up); an error of the reader destroys the sink with it. Await the returned promise before
 * reading `reader` again: no two consumers.
 */
export async function pump(reader: Reader, sink: Writable, options: { copy?: boolean } = {}): Promise<void> {
  try {
    for (;;) {
      if (sink.destroyed || sink.writableEnded) return;
      const c = await reader.next();
      if (sink.destroyed) return;
      if (c === null) {
        sink.end();
        return;
      }
      await written(sink, options.copy ? Buffer.from(c) : c);
    }
  } catch (err) {
    sink.destroy(err as Error);
  }
}

/** Resolves once `sink` has taken `chunk`, or is gone (its error reaches the reader's consumer). */
function written(sink: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      sink.off('close', done);
      resolve();
    };
    sink.on('close', done);
    sink.write(chunk, done);
  });
}
