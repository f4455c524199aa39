import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KEY_ALGORITHMS } from '../../src/attest/index.js';
import { optionSynopsis } from '../../src/cli/command.js';
import { formatCommandHelp } from '../../src/cli/help.js';
import { loadCommand, loadCommands, main } from '../../src/cli/main.js';
import { repoRoot } from '../helpers/index.js';

function capture() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (t: string) => void (out.stdout += t) }, stderr: { write: (t: string) => void (out.stderr += t) } } };
}

async function kiln(...argv: string[]) {
  const { out, io } = capture();
  const code = await main(argv, io);
  return { code, ...out };
}

const COMMANDS = await loadCommands();
const findCommand = (name: string) => COMMANDS.find((c) => c.name === name);

const help = suite('kiln help and --help');

help('kiln with no command prints the command list on stdout and exits 2; kiln help exits 0 with the same text', async () => {
  const bare = await kiln();
  assert.is(bare.code, 2);
  for (const c of COMMANDS) assert.match(bare.stdout, new RegExp(`^  ${c.name}\\b`, 'm'), c.name);
  const asked = await kiln('help');
  assert.is(asked.code, 0);
  assert.is(asked.stdout, bare.stdout);
  assert.is((await kiln('--help')).stdout, bare.stdout);
});

help('every command answers --help, -h and kiln help <command> with the same page, listing each of its options', async () => {
  for (const c of COMMANDS) {
    const long = await kiln(c.name, '--help');
    assert.is(long.code, 0, c.name);
    assert.is((await kiln(c.name, '-h')).stdout, long.stdout, c.name);
    assert.is((await kiln('help', c.name)).stdout, long.stdout, c.name);
    assert.match(long.stdout, `usage: kiln ${c.name}`);
    for (const [name, spec] of Object.entries(c.options)) assert.ok(long.stdout.includes(optionSynopsis(name, spec)), `${c.name} --help lacks --${name}`);
  }
});

help('kiln verify --help lists --rebuilds and --trusted-root (the usage that once drifted)', async () => {
  const page = (await kiln('verify', '--help')).stdout;
  for (const flag of ['--rebuilds VSA…', '--rebuilder-key PUB…', '--trusted-root FILE', '--certificate-identity-regexp RE', '--provenance FILE']) assert.ok(page.includes(flag), flag);
});

help('an unknown flag is exit 2 with the error and the command help on stderr, nothing on stdout', async () => {
  const r = await kiln('build', '--frobnicate');
  assert.is(r.code, 2);
  assert.match(r.stderr, /frobnicate.*\[KILN_USAGE\]/);
  assert.ok(r.stderr.endsWith(formatCommandHelp(findCommand('build')!)), r.stderr);
  assert.is(r.stdout, '');
});

help('with --json a usage error is also an error/v1 document on stdout', async () => {
  const r = await kiln('diff', 'only-one', '--json');
  assert.is(r.code, 2);
  assert.is(JSON.parse(r.stdout).error.code, 'KILN_USAGE');
});

help('an unknown command, or kiln help of one, is exit 2 with the command list', async () => {
  for (const argv of [['frobnicate'], ['help', 'frobnicate']]) {
    const r = await kiln(...argv);
    assert.is(r.code, 2, argv.join(' '));
    assert.match(r.stderr, 'unknown command "frobnicate"');
    assert.match(r.stderr, /^commands:$/m);
  }
});

help('kiln version and kiln --version print the package version', async () => {
  const { version } = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
  assert.is((await kiln('version')).stdout, `kiln ${version}\n`);
  assert.is((await kiln('--version')).stdout, `kiln ${version}\n`);
});

help('each command is loaded by its own name, and only the names help lists are commands', async () => {
  for (const c of COMMANDS) assert.is((await loadCommand(c.name))?.name, c.name);
  assert.is((await loadCommand('--version'))?.name, 'version');
  assert.is(await loadCommand('toString'), undefined);
});

help('keygen --type offers exactly the algorithms the library makes', () => {
  assert.equal(findCommand('keygen')!.options.type?.choices, KEY_ALGORITHMS);
});

const readme = suite('README: the Commands table');

readme('names every command and every one of its options', () => {
  const text = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  const section = text.slice(text.indexOf('## Commands'), text.indexOf('\n## ', text.indexOf('## Commands') + 1));
  for (const c of COMMANDS.filter((x) => x.name !== 'help')) {
    const row = section.split('\n').find((line) => line.startsWith(`| \`kiln ${c.name}`));
    assert.ok(row, `no row for kiln ${c.name}`);
    for (const name of Object.keys(c.options)) assert.ok(row!.includes(`--${name}`), `the kiln ${c.name} row lacks --${name}`);
  }
});

help.run();
readme.run();
