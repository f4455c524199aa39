import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { hashArtifact } from '../../src/verify/index.js';
import { makeTempDir, rejectsWithCode } from '../helpers/index.js';

const hashArtifactSuite = suite('hashArtifact');

hashArtifactSuite('computes sha256 and sha512 of a file spanning several read chunks', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const bytes = randomBytes(2.5 * (1 << 20) + 7);
    const file = join(dir, 'big.bin');
    await writeFile(file, bytes);
    const a = await hashArtifact(file);
    assert.equal(a.digests, { sha256: createHash('sha256').update(bytes).digest('hex'), sha512: createHash('sha512').update(bytes).digest('hex') });
    assert.equal([a.name, a.size, a.path], ['big.bin', bytes.length, file]);
  } finally {
    await cleanup();
  }
});

hashArtifactSuite('hashes an empty file', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const file = join(dir, 'empty');
    await writeFile(file, '');
    const a = await hashArtifact(file);
    assert.is(a.size, 0);
    assert.is(a.digests.sha256, createHash('sha256').digest('hex'));
  } finally {
    await cleanup();
  }
});

hashArtifactSuite('a missing file or a folder is KILN_VERIFY_UNREADABLE', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    await rejectsWithCode(() => hashArtifact(join(dir, 'missing')), 'KILN_VERIFY_UNREADABLE');
    await rejectsWithCode(() => hashArtifact(dir), 'KILN_VERIFY_UNREADABLE');
  } finally {
    await cleanup();
  }
});

hashArtifactSuite.run();
