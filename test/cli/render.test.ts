import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createPlainReporter, createTerminalReporter, fit, formatError } from '../../src/cli/render.js';
import { BuildError } from '../../src/builder/index.js';
import { sha256Digest } from '../../src/util/digest.js';

const render = suite('render');

render('fit cuts to visible width and keeps colour sequences whole', () => {
  assert.is(fit('\x1b[1mkiln\x1b[0m 123456', 6), '\x1b[1mkiln\x1b[0m 1');
  assert.is(fit('short', 80), 'short');
});

render('plain reporter: one line per event, logs prefixed by the step name', () => {
  const lines: string[] = [];
  const r = createPlainReporter({ write: (t) => lines.push(t) });
  r({ type: 'step-start', step: 'compile', actionKey: sha256Digest('k') });
  r({ type: 'log', step: 'compile', stream: 'stdout', line: 'cc -O2 hello.c' });
  r({ type: 'step-cached', step: 'package', actionKey: sha256Digest('p') });
  assert.equal(lines, ['kiln: step compile: running\n', 'compile | cc -O2 hello.c\n', 'kiln: step package: cached\n']);
});

render('formatError names file:line:col, the code, the log tail and the hint', () => {
  const err = new BuildError('KILN_BUILD_STEP_FAILED', 'step "x" failed: exit code 1', {
    where: { file: 'kiln.yaml', line: 7, column: 3 },
    logTail: ['wget: bad address'],
    hint: 'no network',
  });
  const text = formatError(err);
  assert.match(text, /kiln\.yaml:7:3: step "x" failed: exit code 1 \[KILN_BUILD_STEP_FAILED\]/);
  assert.match(text, /wget: bad address/);
  assert.match(text, /hint: no network/);
});

render('a step log line or failure reason cannot move the cursor: escaped in plain and terminal output', () => {
  const attack = 'ok\x1b[2K\r✓ PASSED\u202e';
  const plain: string[] = [];
  const p = createPlainReporter({ write: (t) => plain.push(t) });
  p({ type: 'log', step: 'compile', stream: 'stdout', line: attack });
  p({ type: 'step-failed', step: 'compile', reason: attack });
  assert.equal(plain, ['compile | ok\\x1b[2K\\x0d✓ PASSED\\u{202e}\n', 'kiln: step compile: FAILED (ok\\x1b[2K\\x0d✓ PASSED\\u{202e})\n']);
  const drawn: string[] = [];
  const t = createTerminalReporter({ write: (x) => drawn.push(x), isTTY: true, columns: 200 });
  t({ type: 'plan', steps: ['compile'], inputs: [] });
  t({ type: 'log', step: 'compile', stream: 'stdout', line: attack });
  t.finish();
  const text = drawn.join('');
  assert.ok(text.includes('ok\\x1b[2K\\x0d✓ PASSED'), text);
  assert.not.ok(text.includes('\x1b[2K\r'), 'the attack sequence never reaches the terminal raw');
});

render('formatError escapes what a message quotes, and keeps the hint’s own line breaks', () => {
  const err = new BuildError('KILN_BUILD_STEP_FAILED', 'step failed: \x1b]0;pwned\x07', { logTail: ['\x1b[31mred'], hint: 'line one\nline two' });
  const text = formatError(err);
  assert.not.match(text, /[\x07\x1b]/);
  assert.match(text, /\\x1b\]0;pwned\\x07/);
  assert.match(text, /hint: line one\nline two/);
});

render('a step\'s log reaches the terminal escaped: an escape sequence cannot redraw the screen', () => {
  const lines: string[] = [];
  const r = createPlainReporter({ write: (t) => lines.push(t) });
  r({ type: 'log', step: 'evil', stream: 'stdout', line: '\x1b[2J\x1b[1;1H✓ PASSED\u202e' });
  assert.equal(lines, ['evil | \\x1b[2J\\x1b[1;1H✓ PASSED\\u{202e}\n']);
  const text = formatError(new BuildError('KILN_BUILD_STEP_FAILED', 'step "evil" failed', { logTail: ['\x1b]0;title\x07done'] }));
  assert.not.match(text, /\x1b/);
  assert.match(text, /\\x1b\]0;title\\x07done/);
});

render.run();
