import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { repoRoot } from '../helpers/index.js';

// recipes/hello runs in "the toolchain image of recipes/toolchain" by declaring the same image:
// that holds only while the package list, the lock pins and sourceDateEpoch (the assembly step
// sees it) agree. Pure file checks: no engine, no network.
const RECIPES = join(repoRoot(), 'recipes');

interface Doc {
  sourceDateEpoch: number;
  images: Record<string, { debian?: { packages: string[] } }>;
}
interface Lock {
  debian: Record<string, { package: string; version: string; integrity: string }[]>;
}

async function load(name: string): Promise<{ recipe: Doc; lock: Lock }> {
  const recipe = parse(await readFile(join(RECIPES, name, 'kiln.yaml'), 'utf8')) as Doc;
  const lock = JSON.parse(await readFile(join(RECIPES, name, 'kiln.lock'), 'utf8')) as Lock;
  return { recipe, lock };
}

const shared = suite('recipes/toolchain shared image');

shared('recipes/hello declares the toolchain image with the same packages, pins and sourceDateEpoch', async () => {
  const toolchain = await load('toolchain');
  const hello = await load('hello');
  assert.ok(toolchain.recipe.images.toolchain?.debian, 'recipes/toolchain defines a debian image `toolchain`');
  assert.equal(hello.recipe.images.toolchain?.debian?.packages, toolchain.recipe.images.toolchain!.debian!.packages);
  assert.is(hello.recipe.sourceDateEpoch, toolchain.recipe.sourceDateEpoch);
  const pins = (l: Lock) => l.debian.toolchain!.map((p) => `${p.package}=${p.version} ${p.integrity}`);
  assert.ok(pins(toolchain.lock).length > 100);
  assert.equal(pins(hello.lock), pins(toolchain.lock));
});

shared('the toolchain pins what a Debian package build needs', async () => {
  const { lock } = await load('toolchain');
  const names = new Set(lock.debian.toolchain!.map((p) => p.package));
  for (const needed of ['gcc', 'make', 'libc6-dev', 'dpkg-dev', 'fakeroot', 'debhelper']) assert.ok(names.has(needed), needed);
});

shared.run();
