import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LOG_LINE_MAX, LogSink } from '../../src/builder/log.js';
import { createMemoryStore } from '../helpers/memory-store.js';

const MiB = 1024 * 1024;

function sink(maxBytes?: number) {
  const store = createMemoryStore();
  const lines: Array<{ stream: string; line: string }> = [];
  const log = new LogSink(store, (stream, line) => lines.push({ stream, line }), maxBytes === undefined ? {} : { maxBytes });
  return { store, lines, log };
}

const lines = suite('LogSink: lines');

lines('cuts output that never ends a line into pieces of LOG_LINE_MAX as it arrives (16 MiB without a newline)', async () => {
  const { lines: seen, log } = sink();
  const chunk = Buffer.alloc(64 * 1024, 'x');
  for (let i = 0; i < 256; i++) log.write(chunk, 'stdout');
  // Every full piece was shown before the end: the display does not wait for a newline.
  assert.is(seen.length, (16 * MiB) / LOG_LINE_MAX);
  await log.close();
  assert.ok(seen.every((l) => l.line.length === LOG_LINE_MAX && /^x+$/.test(l.line)));
});

lines('joins a line written across chunks, and a character split between chunks, into one line per stream', async () => {
  const { lines: seen, log } = sink();
  const euro = Buffer.from('€');
  log.write(Buffer.concat([Buffer.from('ab'), euro.subarray(0, 1)]), 'stdout');
  log.write(Buffer.from('err\n'), 'stderr');
  log.write(Buffer.concat([euro.subarray(1), Buffer.from('cd\nlast')]), 'stdout');
  await log.close();
  assert.equal(seen, [
    { stream: 'stderr', line: 'err' },
    { stream: 'stdout', line: 'ab€cd' },
    { stream: 'stdout', line: 'last' },
  ]);
});

lines('cuts a long line that does end into pieces too', async () => {
  const { lines: seen, log } = sink();
  log.write(Buffer.from(`${'y'.repeat(LOG_LINE_MAX * 2 + 5)}\nz\n`), 'stdout');
  await log.close();
  assert.equal(seen.map((l) => l.line.length), [LOG_LINE_MAX, LOG_LINE_MAX, 5, 1]);
});

const stored = suite('LogSink: the stored log');

stored('keeps a log under the cap byte for byte', async () => {
  const { store, log } = sink(1024);
  log.write(Buffer.from('out 1\n'), 'stdout');
  log.write(Buffer.from('err 1\n'), 'stderr');
  const digest = await log.close();
  assert.is((await store.readBlob(digest)).toString(), 'out 1\nerr 1\n');
  assert.is(log.dropped, 0);
});

stored('past maxLogBytes keeps the first and last halves and says how much of the middle was dropped', async () => {
  const { store, log } = sink(MiB);
  log.write(Buffer.from('BEGIN\n'), 'stdout');
  for (let i = 0; i < 16; i++) log.write(Buffer.alloc(MiB, 'x'), 'stdout');
  log.write(Buffer.from('\nEND\n'), 'stderr');
  const digest = await log.close();
  const text = (await store.readBlob(digest)).toString();
  const total = 6 + 16 * MiB + 5;
  assert.is(log.dropped, total - MiB);
  assert.ok(text.startsWith('BEGIN\nxxx'));
  assert.ok(text.endsWith('xxx\nEND\n'));
  const note = /\n\[kiln: (\d+) bytes dropped here: the stored log is capped at (\d+) bytes \(maxLogBytes\)[^\n]*\]\n/.exec(text);
  assert.ok(note, 'a line says that the middle was dropped');
  assert.equal([Number(note[1]), Number(note[2])], [total - MiB, MiB]);
  assert.is(text.length, MiB + note[0].length);
});

lines.run();
stored.run();
