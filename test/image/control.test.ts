import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { debRelations, dependencyClosure, parseControlFields, parseRelations, type DebRelations } from '../../src/image/index.js';

const fields = suite('parseControlFields');

fields('reads one stanza: fields, continuation lines joined, nothing after the first blank line', () => {
  const f = parseControlFields('Package: hello\nDepends: libc6 (>= 2.34),\n libfoo\nDescription: greets\n the world\n\nPackage: other\n');
  assert.is(f.get('Package'), 'hello');
  assert.is(f.get('Depends'), 'libc6 (>= 2.34),\nlibfoo');
  assert.is(f.get('Description'), 'greets\nthe world');
  assert.is(f.size, 3);
});

const relations = suite('parseRelations');

relations('keeps names, drops versions, architectures, qualifiers and build profiles', () => {
  assert.equal(parseRelations('libc6 (>= 2.34), awk | mawk:any, foo [amd64] <!nocheck>,, perl:native'), [['libc6'], ['awk', 'mawk'], ['foo'], ['perl']]);
  assert.equal(parseRelations(undefined), []);
});

relations('Pre-Depends count as dependencies; Provides are names', () => {
  const r = debRelations('Package: mawk\nPre-Depends: libc6 (>= 2.29)\nDepends: libtinfo6\nProvides: awk\n');
  assert.equal(r, { package: 'mawk', depends: [['libc6'], ['libtinfo6']], provides: ['awk'] });
});

const closure = suite('dependencyClosure');

const rel = (pkg: string, depends: string[][] = [], provides: string[] = []): DebRelations => ({ package: pkg, depends, provides });

closure('the roots and everything they depend on within the set, through alternatives and providers', () => {
  const set = [
    rel('dpkg', [['libc6'], ['tar']]),
    rel('tar', [['libacl1']]),
    rel('libc6', [['libgcc-s1']]),
    rel('libgcc-s1'),
    rel('libacl1'),
    rel('base-files', [['awk']]),
    rel('mawk', [], ['awk']),
    rel('gcc', [['cpp']]),
    rel('cpp'),
  ];
  assert.equal(dependencyClosure(['dpkg', 'base-files'], set), ['base-files', 'dpkg', 'libacl1', 'libc6', 'libgcc-s1', 'mawk', 'tar']);
});

closure('ignores what the set does not hold, and cycles', () => {
  const set = [rel('a', [['b'], ['missing']]), rel('b', [['a']])];
  assert.equal(dependencyClosure(['a', 'not-in-set'], set), ['a', 'b']);
});

fields.run();
relations.run();
closure.run();
