import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RecipeError, parseRecipe, type Recipe } from '../../src/recipe/index.js';
import { DEFAULT_SHELL } from '../../src/recipe/types.js';
import { sha256Digest } from '../../src/util/digest.js';
import { repoRoot, throwsWithCode } from '../helpers/index.js';

const SHA256 = 'sha256-LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=';
const SHA384 = 'sha384-11LCxR+6DimqGQVwqdQlPkQHegWNMpf6OlYw1b0BJiL5fCisrtMTtcg7uZDKp9qF';
const SHA512 = 'sha512-pKvURIxJVi2CgRXROh/M6pJ/UrTVRZKX+LQ+QtqJI4vBNibkPcs43bCCSIkn7JBPtCBXRDmD6IWFF51QVRr+Yg==';
const OCI_DIGEST = 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const FILE = 'recipes/t/kiln.yaml';

/** A minimal valid recipe; tests replace numbered lines (1-based) so positions stay obvious. */
const BASE = [
  /* 1 */ 'kiln: 1',
  /* 2 */ 'name: t',
  /* 3 */ 'sourceDateEpoch: 0',
  /* 4 */ 'inputs:',
  /* 5 */ '  rootfs:',
  /* 6 */ '    path: rootfs.tar',
  /* 7 */ `    integrity: ${SHA256}`,
  /* 8 */ 'images:',
  /* 9 */ '  base: { rootfs: rootfs }',
  /* 10 */ 'steps:',
  /* 11 */ '  build:',
  /* 12 */ '    image: base',
  /* 13 */ '    run: make',
  /* 14 */ 'artifacts:',
  /* 15 */ '  - from: build',
  /* 16 */ '    path: out.tar',
];

/** BASE with line N replaced by the given lines (none to delete it). */
function edit(changes: Record<number, string[]>): string {
  return BASE.flatMap((line, i) => changes[i + 1] ?? [line]).join('\n') + '\n';
}

/** Parses `text`, expects RecipeError `code` at line:column of the recipe file. */
function fails(text: string, code: string, line: number, column: number): RecipeError {
  const err = throwsWithCode<RecipeError>(() => parseRecipe(text, FILE), code);
  assert.instance(err, RecipeError);
  assert.equal(
    { file: err.where?.file, line: err.where?.line, column: err.where?.column },
    { file: resolve(FILE), line, column },
    `${code} location (${err.message})`,
  );
  return err;
}

const parse = suite('parseRecipe');

parse('parses the full fixture into the exact model with defaults applied', () => {
  const file = join(repoRoot(), 'test/fixtures/recipes/full/kiln.yaml');
  const text = readFileSync(file, 'utf8');
  const recipe = parseRecipe(text, file);
  const at = (line: number, column: number) => ({ file, line, column });
  const expected: Recipe = {
    file,
    dir: join(repoRoot(), 'test/fixtures/recipes/full'),
    text,
    digest: sha256Digest(text),
    kiln: 1,
    name: 'hello',
    version: '2.12',
    sourceDateEpoch: 1700000000,
    inputs: {
      src: { name: 'src', kind: 'url', url: 'https://example.org/hello-2.12.tar.gz', integrity: SHA256, unpack: true, where: at(8, 3) },
      rootfs: { name: 'rootfs', kind: 'path', path: 'images/busybox-rootfs.tar', integrity: `${SHA384} ${SHA512}`, unpack: false, where: at(12, 3) },
      busybox: {
        name: 'busybox',
        kind: 'deb',
        package: 'busybox-static',
        version: '1:1.35.0-4+b3',
        arch: 'amd64',
        integrity: SHA256,
        unpack: false,
        where: at(15, 3),
      },
    },
    images: {
      base: { name: 'base', kind: 'rootfs', input: 'rootfs', shell: ['/bin/sh', '-e', '-c'], where: at(20, 3) },
      gcc: {
        name: 'gcc',
        kind: 'oci',
        ref: `example.org:5000/tools/gcc@${OCI_DIGEST}`,
        shell: ['/bin/bash', '-euo', 'pipefail', '-c'],
        where: at(21, 3),
      },
      staged: { name: 'staged', kind: 'step', step: 'compile', shell: ['/bin/sh', '-e', '-c'], where: at(24, 3) },
    },
    env: { CFLAGS: '-O2', PATH: '/usr/bin:/bin' },
    steps: {
      compile: {
        name: 'compile',
        image: 'base',
        inputs: ['src', 'busybox'],
        needs: [],
        env: { JOBS: '4' },
        user: '0:0',
        normalize: true,
        run: 'cd /kiln/inputs/src/hello-2.12\n./configure --prefix=/usr && make && make DESTDIR=$KILN_OUT install\n',
        where: at(31, 3),
      },
      package: {
        name: 'package',
        image: 'staged',
        inputs: [],
        needs: ['compile'],
        env: {},
        user: '1000:1000',
        normalize: false,
        run: 'tar -C /kiln/steps/compile -cf $KILN_OUT/hello.tar .',
        where: at(40, 3),
      },
    },
    artifacts: [
      { from: 'package', path: 'hello.tar', where: at(47, 5) },
      { from: 'compile', path: 'usr/bin/*', where: at(49, 5) },
    ],
  };
  assert.equal(recipe, expected);
});

parse('resolves file and dir to absolute paths and digests the text as given', () => {
  const text = edit({});
  const recipe = parseRecipe(text, FILE);
  assert.is(recipe.file, resolve(FILE));
  assert.is(recipe.dir, resolve('recipes/t'));
  assert.is(recipe.text, text);
  assert.is(recipe.digest, sha256Digest(text));
  assert.is.not(parseRecipe(text + '# changed\n', FILE).digest, recipe.digest);
});

parse('applies defaults: no env, no inputs or needs, default shell, user and normalize', () => {
  const recipe = parseRecipe(edit({}), FILE);
  assert.equal(recipe.env, {});
  assert.is(recipe.version, undefined);
  assert.is(recipe.inputs.rootfs!.unpack, false);
  assert.equal(recipe.images.base!.shell, [...DEFAULT_SHELL]);
  assert.is.not(recipe.images.base!.shell, DEFAULT_SHELL, 'each image gets its own copy of the default shell');
  const step = recipe.steps.build!;
  assert.equal([step.inputs, step.needs, step.env, step.user, step.normalize], [[], [], {}, '1000:1000', true]);
});

parse('defaults a deb input to arch amd64 and keeps an explicit arch', () => {
  const deb = (arch: string[]) => edit({ 6: ['    deb: busybox-static=1:1.35.0-4+b3', ...arch] });
  const a = parseRecipe(deb([]), FILE).inputs.rootfs!;
  const b = parseRecipe(deb(['    arch: arm64']), FILE).inputs.rootfs!;
  assert.equal([a.kind === 'deb' && a.arch, b.kind === 'deb' && b.arch], ['amd64', 'arm64']);
});

parse('accepts env values that look like other things once quoted, and PATH', () => {
  const recipe = parseRecipe(edit({ 13: ['    run: make', '    env:', '      JOBS: "4"', '      PATH: /bin', '      DEBUG: "true"'] }), FILE);
  assert.equal(recipe.steps.build!.env, { JOBS: '4', PATH: '/bin', DEBUG: 'true' });
});

parse('reports a YAML syntax error at its line and column', () => {
  fails(edit({ 12: ['    image: [base'] }), 'KILN_RECIPE_SYNTAX', 13, 5);
});

parse('reports a tab used as indentation as a syntax error', () => {
  fails(edit({ 13: ['\trun: make'] }), 'KILN_RECIPE_SYNTAX', 13, 1);
});

parse('rejects several YAML documents in one recipe', () => {
  fails(edit({ 16: ['    path: out.tar', '---', 'kiln: 1'] }), 'KILN_RECIPE_SYNTAX', 17, 1);
});

parse('rejects an unknown YAML tag instead of reading it as a string', () => {
  fails(edit({ 13: ['    run: !shell make'] }), 'KILN_RECIPE_SYNTAX', 13, 10);
});

parse('rejects an alias whose anchor is missing', () => {
  fails(edit({ 13: ['    run: *script'] }), 'KILN_RECIPE_SYNTAX', 13, 10);
});

parse('rejects a duplicate key at the second occurrence', () => {
  const err = fails(edit({ 13: ['    run: make', '    image: base'] }), 'KILN_RECIPE_DUPLICATE_KEY', 14, 5);
  assert.match(err.message, /"image"/);
});

parse('rejects a duplicate step name', () => {
  fails(edit({ 13: ['    run: make', '  build:', '    image: base', '    run: make'] }), 'KILN_RECIPE_DUPLICATE_KEY', 14, 3);
});

parse('rejects an empty document: a recipe is a mapping', () => {
  const err = fails('# nothing\n', 'KILN_RECIPE_INVALID', 1, 1);
  assert.is(err.expected, 'a mapping');
});

parse('rejects an unknown top-level key at the key', () => {
  fails(edit({ 3: ['sourceDateEpoch: 0', 'network: true'] }), 'KILN_RECIPE_UNKNOWN_KEY', 4, 1);
});

parse('rejects an unknown key in an input and suggests the key meant', () => {
  // `paht` also leaves the input with none of path/url/deb: the typo is the useful error.
  const err = fails(edit({ 6: ['    paht: rootfs.tar'] }), 'KILN_RECIPE_UNKNOWN_KEY', 6, 5);
  assert.match(err.hint ?? '', /did you mean "path"/);
});

parse('rejects an unknown key in a step and suggests the key meant', () => {
  const err = fails(edit({ 13: ['    run: make', '    need: [x]'] }), 'KILN_RECIPE_UNKNOWN_KEY', 14, 5);
  assert.match(err.hint ?? '', /did you mean "needs"/);
});

parse('rejects an unknown key in an image and in an artifact', () => {
  fails(edit({ 9: ['  base: { rootfs: rootfs, entrypoint: sh }'] }), 'KILN_RECIPE_UNKNOWN_KEY', 9, 27);
  fails(edit({ 16: ['    path: out.tar', '    sign: true'] }), 'KILN_RECIPE_UNKNOWN_KEY', 17, 5);
});

parse('rejects a missing required key at the entry that lacks it', () => {
  const err = fails(edit({ 13: [] }), 'KILN_RECIPE_MISSING_KEY', 11, 3);
  assert.match(err.message, /`run`/);
  fails(edit({ 3: [] }), 'KILN_RECIPE_MISSING_KEY', 1, 1);
});

parse('rejects a recipe without steps or without artifacts', () => {
  fails(edit({ 10: ['steps: {}'], 11: [], 12: [], 13: [] }), 'KILN_RECIPE_INVALID', 10, 1);
  fails(edit({ 14: ['artifacts: []'], 15: [], 16: [] }), 'KILN_RECIPE_INVALID', 14, 1);
});

parse('rejects a format version this kiln does not read', () => {
  fails(edit({ 1: ['kiln: 2'] }), 'KILN_RECIPE_UNSUPPORTED_FORMAT', 1, 7);
});

parse('rejects a negative or fractional sourceDateEpoch', () => {
  fails(edit({ 3: ['sourceDateEpoch: -1'] }), 'KILN_RECIPE_INVALID', 3, 18);
  fails(edit({ 3: ['sourceDateEpoch: 1.5'] }), 'KILN_RECIPE_INVALID', 3, 18);
});

parse('rejects an input without integrity: unpinned inputs do not build', () => {
  const err = fails(edit({ 7: [] }), 'KILN_RECIPE_UNPINNED', 5, 3);
  assert.match(err.hint ?? '', /kiln lock/);
});

parse('rejects a malformed SRI integrity', () => {
  const bad = [
    'md5-rL0Y20zC+Fzt72VPzMSk2A==',
    'sha256-LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSI=',
    'sha256-LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIF=',
    `sha256:${'0'.repeat(64)}`,
    `${SHA256},${SHA512}`,
  ];
  for (const integrity of bad) fails(edit({ 7: [`    integrity: "${integrity}"`] }), 'KILN_RECIPE_BAD_INTEGRITY', 7, 16);
});

parse('accepts several space-separated SRI hashes', () => {
  const recipe = parseRecipe(edit({ 7: [`    integrity: ${SHA512} ${SHA256}`] }), FILE);
  assert.is(recipe.inputs.rootfs!.integrity, `${SHA512} ${SHA256}`);
});

parse('rejects an input with two sources at the second one', () => {
  const err = fails(edit({ 6: ['    path: rootfs.tar', '    url: https://example.org/r.tar'] }), 'KILN_RECIPE_INVALID', 7, 5);
  assert.is(err.found, 'path and url');
});

parse('rejects an input with no source at the input', () => {
  fails(edit({ 6: [] }), 'KILN_RECIPE_INVALID', 5, 3);
});

parse('rejects arch on an input that is not a deb', () => {
  fails(edit({ 6: ['    path: rootfs.tar', '    arch: amd64'] }), 'KILN_RECIPE_INVALID', 7, 5);
});

parse('rejects a url that is not http or https, and a deb without a version', () => {
  fails(edit({ 6: ['    url: ftp://example.org/r.tar'] }), 'KILN_RECIPE_INVALID', 6, 10);
  fails(edit({ 6: ['    deb: busybox-static'] }), 'KILN_RECIPE_INVALID', 6, 10);
});

parse('rejects an absolute input path', () => {
  fails(edit({ 6: ['    path: /etc/passwd'] }), 'KILN_RECIPE_INVALID', 6, 11);
});

parse('rejects an image with two sources', () => {
  fails(edit({ 9: ['  base: { rootfs: rootfs, step: build }'] }), 'KILN_RECIPE_INVALID', 9, 27);
});

parse('rejects an oci image without a digest as unpinned', () => {
  fails(edit({ 9: ['  base: { oci: "alpine:3.19" }'] }), 'KILN_RECIPE_UNPINNED', 9, 16);
});

parse('rejects an oci image with a tag beside its digest', () => {
  fails(edit({ 9: [`  base: { oci: "alpine:3.19@${OCI_DIGEST}" }`] }), 'KILN_RECIPE_INVALID', 9, 16);
});

parse('rejects an empty shell, at its key', () => {
  fails(edit({ 9: ['  base: { rootfs: rootfs, shell: [] }'] }), 'KILN_RECIPE_INVALID', 9, 27);
});

parse('rejects bad names of inputs, images and steps at the name', () => {
  for (const name of ['../evil', 'Upper', 'a/b', '.hidden', '-x']) {
    const err = fails(edit({ 11: [`  "${name}":`] }), 'KILN_RECIPE_BAD_NAME', 11, 3);
    assert.match(err.message, /^step name/);
    fails(edit({ 5: [`  "${name}":`] }), 'KILN_RECIPE_BAD_NAME', 5, 3);
    fails(edit({ 9: [`  ${JSON.stringify(name)}: { rootfs: rootfs }`] }), 'KILN_RECIPE_BAD_NAME', 9, 3);
  }
});

parse('rejects a bad recipe name', () => {
  fails(edit({ 2: ['name: Hello'] }), 'KILN_RECIPE_BAD_NAME', 2, 7);
});

parse('rejects an env value that YAML reads as a number, hinting to quote it', () => {
  const err = fails(edit({ 3: ['sourceDateEpoch: 0', 'env:', '  JOBS: 4'] }), 'KILN_RECIPE_INVALID', 5, 9);
  assert.match(err.hint ?? '', /JOBS: "4"/);
  fails(edit({ 13: ['    run: make', '    env: { DEBUG: true }'] }), 'KILN_RECIPE_INVALID', 14, 19);
});

parse('rejects a version YAML reads as a number, hinting to quote it', () => {
  const err = fails(edit({ 2: ['name: t', 'version: 2.10'] }), 'KILN_RECIPE_INVALID', 3, 10);
  assert.match(err.hint ?? '', /version: "2.1"/);
});

parse('rejects reserved env names at top level and in a step', () => {
  for (const name of ['SOURCE_DATE_EPOCH', 'KILN_OUT', 'KILN_ANYTHING', 'HOME', 'TZ', 'LANG', 'LC_ALL']) {
    fails(edit({ 3: ['sourceDateEpoch: 0', 'env:', `  ${name}: x`] }), 'KILN_RECIPE_RESERVED_ENV', 5, 3);
    fails(edit({ 13: ['    run: make', '    env:', `      ${name}: x`] }), 'KILN_RECIPE_RESERVED_ENV', 15, 7);
  }
});

parse('rejects an env name that is not a shell variable name', () => {
  fails(edit({ 3: ['sourceDateEpoch: 0', 'env:', '  1X: x'] }), 'KILN_RECIPE_BAD_NAME', 5, 3);
  fails(edit({ 3: ['sourceDateEpoch: 0', 'env:', '  A-B: x'] }), 'KILN_RECIPE_BAD_NAME', 5, 3);
  fails(edit({ 3: ['sourceDateEpoch: 0', 'env:', '  __proto__: x'] }), 'KILN_RECIPE_BAD_NAME', 5, 3);
});

parse('rejects a user that is not numeric uid:gid', () => {
  fails(edit({ 13: ['    run: make', '    user: root'] }), 'KILN_RECIPE_INVALID', 14, 11);
  fails(edit({ 13: ['    run: make', '    user: "01:1"'] }), 'KILN_RECIPE_INVALID', 14, 11);
});

parse('rejects a step that lists the same input twice, at the repeat', () => {
  fails(edit({ 13: ['    run: make', '    inputs: [rootfs, rootfs]'] }), 'KILN_RECIPE_INVALID', 14, 22);
});

parse('rejects an unknown image, naming it', () => {
  const err = fails(edit({ 12: ['    image: gcc'] }), 'KILN_RECIPE_UNKNOWN_REF', 12, 12);
  assert.match(err.message, /unknown image "gcc"/);
});

parse('rejects unknown inputs, needs, rootfs inputs, image steps and artifact steps', () => {
  fails(edit({ 13: ['    run: make', '    inputs: [rootfs, src]'] }), 'KILN_RECIPE_UNKNOWN_REF', 14, 22);
  fails(edit({ 13: ['    run: make', '    needs:', '      - fetch'] }), 'KILN_RECIPE_UNKNOWN_REF', 15, 9);
  fails(edit({ 9: ['  base: { rootfs: rootfs2 }'] }), 'KILN_RECIPE_UNKNOWN_REF', 9, 19);
  fails(edit({ 9: ['  base: { rootfs: rootfs }', '  other: { step: compile }'] }), 'KILN_RECIPE_UNKNOWN_REF', 10, 18);
  fails(edit({ 15: ['  - from: package'] }), 'KILN_RECIPE_UNKNOWN_REF', 15, 11);
});

parse('rejects a cycle through needs, showing it, at its first step', () => {
  const text = edit({ 13: ['    run: make', '    needs: [test]', '  test:', '    image: base', '    run: make test', '    needs: [build]'] });
  const err = fails(text, 'KILN_RECIPE_CYCLE', 11, 3);
  assert.match(err.message, /build -> test -> build/);
});

parse('rejects a step that needs itself', () => {
  const err = fails(edit({ 13: ['    run: make', '    needs: [build]'] }), 'KILN_RECIPE_CYCLE', 11, 3);
  assert.match(err.message, /build -> build/);
});

parse('rejects a cycle through an image built by a step', () => {
  const text = edit({
    9: ['  base: { rootfs: rootfs }', '  tools: { step: tools }'],
    13: ['    run: make', '    needs: [tools]', '  tools:', '    image: tools', '    run: make tools'],
  });
  const err = fails(text, 'KILN_RECIPE_CYCLE', 16, 3);
  assert.match(err.message, /tools -> tools/);
  assert.match(err.hint ?? '', /image "tools"/);
});

parse('rejects an artifact path that leaves the step output', () => {
  for (const path of ['../x', 'a/../../b', '..', '/etc/passwd', 'a/..']) {
    fails(edit({ 16: [`    path: "${path}"`] }), 'KILN_RECIPE_INVALID', 16, 11);
  }
});

parse('accepts artifact globs and names that only contain dots', () => {
  for (const path of ['**/*.tar', 'a..b/c', '.hidden', 'dist/..x']) {
    assert.is(parseRecipe(edit({ 16: [`    path: "${path}"`] }), FILE).artifacts[0]!.path, path);
  }
});

parse('reports a number-valued name in a list as the wrong type', () => {
  fails(edit({ 13: ['    run: make', '    needs: [1]'] }), 'KILN_RECIPE_INVALID', 14, 13);
});

parse.run();
