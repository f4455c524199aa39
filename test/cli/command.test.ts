import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defineCommand, parseCommandArgs } from '../../src/cli/command.js';
import { throwsWithCode } from '../helpers/index.js';

const demo = defineCommand({
  name: 'demo',
  summary: 'a command to parse',
  positionals: [{ name: 'a' }, { name: 'rest', optional: true, variadic: true }],
  options: {
    out: { type: 'string', short: 'o', value: 'DIR', required: true, description: 'where' },
    key: { type: 'string', multiple: true, value: 'PUB', description: 'keys' },
    type: { type: 'string', choices: ['x', 'y'], description: 'kind' },
    json: { type: 'boolean', description: 'json' },
  },
  run: async () => 0,
});

const parse = suite('parseCommandArgs');

parse('returns the values and positionals the specs describe', () => {
  const { values, positionals, help } = parseCommandArgs(demo, ['one', 'two', '-o', 'd', '--key', 'k1', '--key', 'k2', '--type', 'y', '--json']);
  assert.equal(values, { out: 'd', key: ['k1', 'k2'], type: 'y', json: true });
  assert.equal(positionals, ['one', 'two']);
  assert.is(help, false);
});

parse('--help and -h win over every other check', () => {
  assert.ok(parseCommandArgs(demo, ['--help']).help);
  assert.ok(parseCommandArgs(demo, ['-h', '--type', 'z']).help);
});

parse('refuses an unknown flag, a flag without its value, a missing required option', () => {
  throwsWithCode(() => parseCommandArgs(demo, ['a', '-o', 'd', '--frobnicate']), 'KILN_USAGE');
  throwsWithCode(() => parseCommandArgs(demo, ['a', '-o']), 'KILN_USAGE');
  throwsWithCode(() => parseCommandArgs(demo, ['a']), 'KILN_USAGE');
  throwsWithCode(() => parseCommandArgs(demo, ['a', '--out', '']), 'KILN_USAGE');
});

parse('refuses a value outside the choices, naming them', () => {
  const err = throwsWithCode<Error>(() => parseCommandArgs(demo, ['a', '-o', 'd', '--type', 'z']), 'KILN_USAGE');
  assert.match(err.message, '--type must be x or y, got "z"');
});

parse('refuses too few or too many positionals, saying what the command takes', () => {
  const none = throwsWithCode<Error>(() => parseCommandArgs(demo, ['-o', 'd']), 'KILN_USAGE');
  assert.match(none.message, 'kiln demo takes <a> [rest…], got none');
  const two = defineCommand({ name: 'two', summary: 's', positionals: [{ name: 'a' }, { name: 'b' }], options: {}, run: async () => 0 });
  throwsWithCode(() => parseCommandArgs(two, ['x']), 'KILN_USAGE');
  throwsWithCode(() => parseCommandArgs(two, ['x', 'y', 'z']), 'KILN_USAGE');
  const nothing = defineCommand({ name: 'nothing', summary: 's', options: {}, run: async () => 0 });
  assert.match(throwsWithCode<Error>(() => parseCommandArgs(nothing, ['x']), 'KILN_USAGE').message, 'takes no arguments');
});

parse.run();
