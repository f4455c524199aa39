import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LINK_MERGED_USR, UNLINK_UNUSED_USR } from '../../src/image/assemble.js';
import { createDockerEngine } from '../../src/sandbox/docker.js';
import { loadSandboxProfile } from '../../src/sandbox/profile.js';
import { createStore } from '../../src/store/index.js';
import { NO_DOCKER, sandboxAction } from '../helpers/busybox.js';
import { makeTempDir } from '../helpers/index.js';

// The assembly script's merged-/usr fragments, run for real (as root in the busybox image, which
// has /bin as a folder and no lib32, lib64, libx32): the links made before the rest of
// the packages go in, and the ones no package's file list uses taken away afterwards.

const links = suite('merged-/usr links made by the assembly step');
const it = NO_DOCKER ? links.skip : links;

it('a folder a package ships files under stays linked into /usr; one only named, or not at all, is taken away; one written into by a script stays', async () => {
  const { profile } = await loadSandboxProfile();
  const scratch = await makeTempDir();
  try {
    const store = await createStore({ root: join(scratch.dir, 'store') });
    const script = [
      'mkdir -p /var/lib/dpkg/info',
      LINK_MERGED_USR,
      // dpkg's work, simulated: lib64 gets a file through its link and is named in a file list;
      // libx32 is named only as a folder; lib32 is not named, but a script wrote into it.
      'echo so > /lib64/ld.so && printf "/.\\n/lib64\\n/lib64/ld.so\\n" > /var/lib/dpkg/info/libc6.list',
      'printf "/libx32\\n" > /var/lib/dpkg/info/odd.list',
      'echo stray > /lib32/stray',
      UNLINK_UNUSED_USR,
      'for top in bin lib32 lib64 libx32; do',
      '  if [ -L "/$top" ]; then echo "$top link $(readlink "/$top")"; elif [ -d "/$top" ]; then echo "$top folder"; else echo "$top none"; fi',
      'done > $KILN_OUT/report',
      'for top in lib32 lib64 libx32; do if [ -d "/usr/$top" ]; then echo "usr/$top folder"; fi; done >> $KILN_OUT/report',
    ].join('\n');
    const action = await sandboxAction(store, profile, script, { user: { uid: 0, gid: 0 } });
    const engine = createDockerEngine({ profile });
    const result = await engine.run(action, { store });
    assert.is(result.exitCode, 0);
    const out = await store.readTree(result.outputTree!);
    const report = out.entries.find((e) => e.path === 'report');
    assert.ok(report?.type === 'file');
    const lines = (await store.readBlob(report.digest)).toString('utf8').trim().split('\n');
    assert.equal(lines, ['bin folder', 'lib32 link usr/lib32', 'lib64 link usr/lib64', 'libx32 none', 'usr/lib32 folder', 'usr/lib64 folder']);
  } finally {
    await scratch.cleanup();
  }
});

links.run();
