import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertAssemblable, parseInstallPrintUris, requiredPackages } from '../../src/image/index.js';
import type { DebianPackagePin } from '../../src/recipe/index.js';
import { throwsWithCode } from '../helpers/index.js';

const HEX = 'ba4f88f73dbc3ae9055f3c20f4523bfdbaf1ad13ff95e258924f77d20b4fbedf';

const parse = suite('parseInstallPrintUris');

parse('reads package, version with epoch, arch, size and the SHA256 as SRI, sorted by name', () => {
  const text = [
    `'http://deb.example/pool/b/busybox-static_1.35.0-4%2bb1_amd64.deb' busybox-static_1%3a1.35.0-4+b1_amd64.deb 928188 SHA256:${HEX}`,
    `'http://deb.example/pool/a/adduser_3.134_all.deb' adduser_3.134_all.deb 1000 SHA256:${HEX}`,
  ].join('\n');
  const uris = parseInstallPrintUris(text);
  assert.equal(uris.map((u) => u.package), ['adduser', 'busybox-static']);
  assert.is(uris[1]!.version, '1:1.35.0-4+b1');
  assert.is(uris[1]!.arch, 'amd64');
  assert.is(uris[1]!.size, 928188);
  assert.is(uris[1]!.integrity, `sha256-${Buffer.from(HEX, 'hex').toString('base64')}`);
  assert.is(uris[0]!.arch, 'all');
});

parse('ignores lines without a SHA256 (an MD5Sum-only answer pins nothing)', () => {
  assert.equal(parseInstallPrintUris(`'http://x/a.deb' a_1_amd64.deb 10 MD5Sum:0123\nsome notice\n`), []);
});

const required = suite('requiredPackages');

required('takes Essential: yes and Priority: required stanzas of the architecture or all', async () => {
  const dump = [
    'Package: dpkg', 'Architecture: amd64', 'Essential: yes', 'Priority: required', '',
    'Package: tzdata', 'Architecture: all', 'Priority: required', '',
    'Package: hello', 'Architecture: amd64', 'Priority: optional', '',
    'Package: foreign', 'Architecture: arm64', 'Priority: required', '',
    'Package: base-files', 'Architecture: amd64', 'Essential: yes',
  ];
  assert.equal(await requiredPackages(dump, 'amd64'), ['base-files', 'dpkg', 'tzdata']);
});

const assemblable = suite('assertAssemblable');

const pin = (name: string): DebianPackagePin => ({ package: name, version: '1', arch: 'amd64', integrity: 'sha256-x', size: 1, required: true });

assemblable('refuses a set without dpkg', () => {
  throwsWithCode(() => assertAssemblable(['dash', 'coreutils', 'base-files', 'base-passwd', 'libc6'].map(pin)), 'KILN_IMAGE_INCOMPLETE');
});

assemblable('accepts the minimum the assembly script runs with', () => {
  assertAssemblable(['dpkg', 'dash', 'coreutils', 'base-files', 'base-passwd', 'libc6'].map(pin));
  assert.ok(true);
});

parse.run();
required.run();
assemblable.run();
