import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRecipe } from '../../src/recipe/index.js';
import { throwsWithCode } from '../helpers/index.js';

const FILE = '/r/kiln.yaml';
const SRI = `sha256-${'A'.repeat(43)}=`;
const COMMIT = 'ab'.repeat(20);

const recipe = (input: string) => `kiln: 1
name: t
sourceDateEpoch: 0
inputs:
  x: ${input}
images:
  base: { oci: "busybox@sha256:${'a'.repeat(64)}" }
steps:
  build: { image: base, run: make }
artifacts:
  - { from: build, path: out }
`;

const parse = suite('parseRecipe (npm, git, debsrc inputs)');

parse('reads a scoped npm package and its version', () => {
  const x = parseRecipe(recipe(`{ npm: "@types/node@20.1.0", integrity: "${SRI}" }`), FILE).inputs.x!;
  assert.equal(x.kind === 'npm' && [x.package, x.version], ['@types/node', '20.1.0']);
});

parse('reads a git input with its commit and a debsrc input with its dsc URL', () => {
  const g = parseRecipe(recipe(`{ git: "https://h.example/t.git", commit: "${COMMIT}", integrity: "${SRI}" }`), FILE).inputs.x!;
  assert.equal(g.kind === 'git' && [g.url, g.commit], ['https://h.example/t.git', COMMIT]);
  const d = parseRecipe(recipe(`{ debsrc: "hello=1:2.10-3", dsc: "file:///s/hello_2.10-3.dsc", integrity: "${SRI}" }`), FILE).inputs.x!;
  assert.equal(d.kind === 'debsrc' && [d.package, d.version, d.dsc], ['hello', '1:2.10-3', 'file:///s/hello_2.10-3.dsc']);
});

parse('an npm range or a git ref without commit is unpinned, unless allowUnpinned', () => {
  throwsWithCode(() => parseRecipe(recipe(`{ npm: "left-pad@^1.3.0", integrity: "${SRI}" }`), FILE), 'KILN_RECIPE_UNPINNED');
  throwsWithCode(() => parseRecipe(recipe(`{ git: "https://h.example/t.git", ref: main, integrity: "${SRI}" }`), FILE), 'KILN_RECIPE_UNPINNED');
  const r = parseRecipe(recipe('{ git: "https://h.example/t.git", ref: main }'), FILE, { allowUnpinned: true }).inputs.x!;
  assert.equal(r.kind === 'git' && [r.commit, r.ref, r.integrity], ['', 'main', '']);
});

parse('rejects commit on an input that is not git, and a dsc that is not a .dsc URL', () => {
  throwsWithCode(() => parseRecipe(recipe(`{ url: "https://h.example/x", commit: "${COMMIT}", integrity: "${SRI}" }`), FILE), 'KILN_RECIPE_INVALID');
  throwsWithCode(() => parseRecipe(recipe(`{ debsrc: "hello=1-1", dsc: "ftp://h/x.dsc", integrity: "${SRI}" }`), FILE), 'KILN_RECIPE_INVALID');
});

parse.run();
