import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeAction, encodeCommand, EMPTY_DIGEST } from '../../src/reapi/index.js';
import { decode, REAPI_PACKAGE } from '../../src/reapi/proto.js';
import { throwsWithCode } from '../helpers/index.js';

interface DecodedCommand {
  arguments: string[];
  environmentVariables: { name: string; value: string }[];
  outputPaths: string[];
  outputDirectories: string[];
  workingDirectory: string;
  platform: { properties: { name: string; value: string }[] } | null;
}

const Command = suite('encodeCommand');

Command('sorts the environment by name and the output paths, dropping duplicates', () => {
  const c = encodeCommand({ arguments: ['/bin/sh', '-c', 'true'], env: { TZ: 'UTC', HOME: '/kiln/work', LANG: 'C' }, outputPaths: ['../out', '../log', '../out'], workingDirectory: 'kiln/work' });
  const d = decode<DecodedCommand>(`${REAPI_PACKAGE}.Command`, c.bytes);
  assert.equal(d.environmentVariables.map((e) => e.name), ['HOME', 'LANG', 'TZ']);
  assert.equal(d.outputPaths, ['../log', '../out']);
  assert.equal(d.outputDirectories, []);
  assert.is(d.workingDirectory, 'kiln/work');
});

Command('the same command written in another order has the same digest', () => {
  const a = encodeCommand({ arguments: ['x'], env: { A: '1', B: '2' }, outputPaths: ['o', 'p'] });
  const b = encodeCommand({ arguments: ['x'], env: { B: '2', A: '1' }, outputPaths: ['p', 'o'] });
  assert.equal(a.digest, b.digest);
});

Command('fills the REv2.0 output_directories only when asked', () => {
  const c = encodeCommand({ arguments: ['x'], env: {}, outputPaths: ['out'], legacyOutputDirectories: true });
  assert.equal(decode<DecodedCommand>(`${REAPI_PACKAGE}.Command`, c.bytes).outputDirectories, ['out']);
});

Command('refuses an empty argv and unusable paths', () => {
  throwsWithCode(() => encodeCommand({ arguments: [], env: {}, outputPaths: [] }), 'KILN_REAPI_BAD_TREE');
  throwsWithCode(() => encodeCommand({ arguments: ['x'], env: {}, outputPaths: ['a//b'] }), 'KILN_REAPI_BAD_TREE');
  throwsWithCode(() => encodeCommand({ arguments: ['x'], env: {}, outputPaths: [], workingDirectory: '/abs' }), 'KILN_REAPI_BAD_TREE');
});

const Action = suite('encodeAction');

Action('writes only what differs from the defaults, so equal actions hash equal', () => {
  const plain = encodeAction({ command: EMPTY_DIGEST, inputRoot: EMPTY_DIGEST });
  const explicit = encodeAction({ command: EMPTY_DIGEST, inputRoot: EMPTY_DIGEST, doNotCache: false, platform: {} });
  assert.equal(plain.digest, explicit.digest);
  assert.is.not(encodeAction({ command: EMPTY_DIGEST, inputRoot: EMPTY_DIGEST, doNotCache: true }).digest.hash, plain.digest.hash);
});

Action('carries the timeout as a Duration and the platform sorted by name', () => {
  const a = encodeAction({ command: EMPTY_DIGEST, inputRoot: EMPTY_DIGEST, timeoutMs: 1500, platform: { OSFamily: 'linux', ISA: 'x86-64' } });
  const d = decode<{ timeout: { seconds: number; nanos: number }; platform: { properties: { name: string }[] } }>(`${REAPI_PACKAGE}.Action`, a.bytes);
  assert.equal(d.timeout, { seconds: 1, nanos: 500_000_000 });
  assert.equal(d.platform.properties.map((p) => p.name), ['ISA', 'OSFamily']);
});

Action('refuses a timeout that is not a positive whole number of ms', () => {
  throwsWithCode(() => encodeAction({ command: EMPTY_DIGEST, inputRoot: EMPTY_DIGEST, timeoutMs: 0 }), 'KILN_REAPI_BAD_TREE');
});

Command.run();
Action.run();
