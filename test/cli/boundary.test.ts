import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot } from '../helpers/index.js';

// The shape issue 12 asked for, read from the sources: the CLI is a shell around the library,
// never the other way round, and a command module loads its part of the library only when run.

const SRC = join(repoRoot(), 'src');

interface Import { from: string; to: string; kind: 'value' | 'type' | 'dynamic' }

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports and re-exports of every file under src/, as paths relative to src/. */
function imports(): Import[] {
  const found: Import[] = [];
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    const add = (spec: string, kind: Import['kind']) =>
      found.push({ from: relative(SRC, file), to: relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts'), kind });
    for (const m of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'/gm)) add(m[2]!, m[1] ? 'type' : 'value');
    for (const m of text.matchAll(/import\('(\.[^']+)'\)/g)) add(m[1]!, 'dynamic');
  }
  return found;
}

const folderOf = (path: string) => path.split('/')[0]!;

const shell = suite('the CLI is a thin shell');

shell('no module outside src/cli imports src/cli, not even a type', () => {
  const inward = imports().filter((i) => folderOf(i.from) !== 'cli' && folderOf(i.to) === 'cli');
  assert.equal(inward.map((i) => `${i.from} -> ${i.to}`), []);
});

shell('no import cycle between files (static and dynamic value imports)', () => {
  const graph = new Map<string, string[]>();
  for (const i of imports()) if (i.kind !== 'type') graph.set(i.from, [...(graph.get(i.from) ?? []), i.to]);
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    state.set(file, 'open');
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].join(' -> '));
      else if (!state.has(next)) visit(next, [...path, next]);
    }
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file, [file]);
  assert.equal(cycles, []);
});

shell('src/cli loads the library only inside a command\'s run: its static imports are types, src/cli and src/util', () => {
  // help imports every command module: one that imported its library eagerly would slow `kiln help` and hide in the others.
  const eager = imports().filter((i) => folderOf(i.from) === 'cli' && i.kind === 'value' && !['cli', 'util'].includes(folderOf(i.to)));
  assert.equal(eager.map((i) => `${i.from} -> ${i.to}`), []);
});

shell.run();
