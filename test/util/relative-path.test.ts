import { join, normalize, sep } from 'node:path';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isRelativePath, joinInside, PathError, relativePathProblem } from '../../src/util/relative-path.js';
import { throwsWithCode } from '../helpers/index.js';
import { hostileString, RUNS } from '../helpers/arbitraries.js';

const problem = suite('relativePathProblem');

problem('accepts plain relative paths', () => {
  for (const name of ['hello-1.0.tar.gz', 'dist/a.whl', 'a/b/c', '.hidden', 'x..y', '..a', 'pkg:npm/@s/n@1', 'é/ü']) assert.is(relativePathProblem(name), undefined, name);
});

problem('refuses each trick with its reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['..', /"\.\." path segment/],
    ['../x', /"\.\." path segment/],
    ['a/../../x', /"\.\." path segment/],
    ['./a', /"\." path segment/],
    ['/etc/passwd', /absolute/],
    ['a//b', /empty path segment/],
    ['a/', /empty path segment/],
    ['a\\..\\b', /backslash/],
    ['a\u0000b', /control character/],
    ['a\nb', /control character/],
    ['\x1b[2K', /control character/],
    ['a\u0085b', /control character/],
    ['x'.repeat(5000), /longer than/],
  ];
  for (const [name, reason] of cases) assert.match(relativePathProblem(name) ?? '(accepted)', reason, JSON.stringify(name));
});

const inside = suite('joinInside');

inside('joins a relative name under the folder', () => {
  assert.is(joinInside('/srv/out', 'a/b.tar'), join('/srv/out', 'a', 'b.tar'));
});

inside('throws KILN_PATH_OUTSIDE for a name that leaves the folder or names the folder itself', () => {
  for (const name of ['..', '../x', 'a/../../x', '/etc/passwd', '', '.', 'a/..']) {
    const err = throwsWithCode<PathError>(() => joinInside('/srv/out', name), 'KILN_PATH_OUTSIDE');
    assert.ok(err instanceof PathError);
  }
});

const properties = suite('relative paths: properties');

properties('a name the validator accepts is already normal, joins strictly inside, and has no .. segment', () => {
  fc.assert(
    fc.property(hostileString, (name) => {
      if (!isRelativePath(name)) return true;
      assert.is(normalize(name), name);
      assert.not.ok(name.split('/').includes('..'));
      assert.ok(joinInside('/srv/out', name).startsWith(`/srv/out${sep}`));
      return true;
    }),
    { numRuns: RUNS },
  );
});

properties('joinInside never returns a path outside its folder, whatever the name', () => {
  fc.assert(
    fc.property(hostileString, (name) => {
      try {
        const full = joinInside('/srv/out', name);
        assert.ok(full.startsWith(`/srv/out${sep}`), full);
      } catch (err) {
        assert.ok(err instanceof PathError);
      }
      return true;
    }),
    { numRuns: RUNS },
  );
});

problem.run();
inside.run();
properties.run();
