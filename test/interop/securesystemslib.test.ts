import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { PAYLOAD_TYPE_INTOTO } from '../../src/attest/index.js';
import { makeTempDir } from '../helpers/index.js';
import { peerSuite } from '../helpers/peers.js';
import { buildHello, EXAMPLE_KEY, EXAMPLE_PUB, expectRow, keygen, statementOf, type HelloBuild } from './support.js';

/**
 * securesystemslib's DSSE (docs/interop.md, rows sslib-*), the current release from PyPI with
 * its own `securesystemslib.dsse.Envelope`: it verifies kiln's envelopes (ed25519 and ECDSA
 * P-256), and `kiln verify` accepts envelopes securesystemslib signed. (test/attest/interop.test.ts
 * checks the same against Debian's older securesystemslib, which has no Envelope class.)
 */

const sslib = peerSuite('securesystemslib DSSE and kiln', ['python']);

let tmp: { dir: string; cleanup: () => Promise<void> };
const builds: Record<string, HelloBuild> = {};

sslib.before(async () => {
  tmp = await makeTempDir('kiln-interop-sslib-');
  builds.ed25519 = await buildHello(join(tmp.dir, 'ed25519'), { private: EXAMPLE_KEY, public: EXAMPLE_PUB });
  builds['ecdsa-p256'] = await buildHello(join(tmp.dir, 'ecdsa-p256'), await keygen(tmp.dir, 'p256', 'ecdsa-p256'));
});
sslib.after(() => tmp.cleanup());

for (const algorithm of ['ed25519', 'ecdsa-p256']) {
  sslib(`${algorithm}: Envelope.verify accepts kiln's provenance and SBOM envelopes, under kiln's keyid`, async () => {
    const build = builds[algorithm]!;
    const lines = (await readFile(join(build.dir, 'hello.intoto.jsonl'), 'utf8')).split('\n').filter(Boolean);
    for (const [line, predicateType] of [[1, 'https://slsa.dev/provenance/v1'], [2, 'https://cyclonedx.org/bom']] as const) {
      const ok = await expectRow('sslib-verify', build.dir, { LINE: String(line) });
      const result = JSON.parse(ok.stdout) as { accepted: string[]; payloadType: string; predicateType: string };
      assert.is(result.payloadType, PAYLOAD_TYPE_INTOTO);
      assert.is(result.predicateType, predicateType);
      const envelope = JSON.parse(lines[line - 1]!) as { signatures: Array<{ keyid: string }> };
      assert.equal(result.accepted, [envelope.signatures[0]!.keyid], 'the keyid securesystemslib derived from the key is the one kiln wrote');
    }
  });

  sslib(`${algorithm}: Envelope.verify refuses kiln's envelope with one payload byte changed`, async () => {
    const build = builds[algorithm]!;
    const lines = (await readFile(join(build.dir, 'hello.intoto.jsonl'), 'utf8')).split('\n').filter(Boolean);
    const envelope = JSON.parse(lines[0]!) as { payload: string };
    const payload = Buffer.from(envelope.payload, 'base64');
    payload[payload.indexOf('hello-1.0.0')] = 'j'.charCodeAt(0);
    await writeFile(join(build.dir, 'tampered.intoto.jsonl'), JSON.stringify({ ...envelope, payload: payload.toString('base64') }) + '\n');
    const bad = await expectRow('sslib-verify-tampered', build.dir);
    assert.is(bad.code, 1, 'not verified (rather than bad input)');
    assert.match(bad.stdout, /Accepted signatures do not match threshold/);
  });
}

for (const [id, scheme] of [['sslib-sign-to-kiln', 'ed25519'], ['sslib-sign-ecdsa-to-kiln', 'ecdsa-sha2-nistp256']] as const) {
  sslib(`kiln verify accepts kiln's provenance signed by securesystemslib (${scheme})`, async () => {
    const build = builds.ed25519!;
    const dir = join(tmp.dir, id);
    await mkdir(dir);
    await writeFile(join(dir, 'statement.json'), (await statementOf(join(build.dir, 'hello.intoto.jsonl'))).bytes);
    await copyFile(join(build.dir, build.artifact), join(dir, build.artifact));
    const ok = await expectRow(id, dir);
    assert.match(ok.stdout, /✓ signature\s+signed by trusted key sslib\.pub/);
    assert.match(ok.stdout, /^PASSED/m);
    const signed = JSON.parse(await readFile(join(dir, 'sslib.intoto.json'), 'utf8')) as { signatures: Array<{ keyid: string }> };
    assert.match(signed.signatures[0]!.keyid, /^[0-9a-f]{64}$/, 'securesystemslib wrote its own keyid format, which kiln does not rely on');
  });
}

sslib.run();
