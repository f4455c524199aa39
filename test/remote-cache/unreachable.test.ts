import { createServer } from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { build, type BuildEvent } from '../../src/builder/index.js';
import { createMemoryStore } from '../../src/store/index.js';
import { createFakeEngine } from '../helpers/fake-engine.js';
import { makeTempDir } from '../helpers/index.js';
import { writeRecipe } from '../helpers/recipes.js';

/** A 127.0.0.1 port that nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const down = suite('shared cache: a server that does not answer');

down('the build goes on without it, says so once, and runs every step', async () => {
  const { dir, cleanup } = await makeTempDir('kiln-rc-down-');
  try {
    const recipe = await writeRecipe(dir, `steps:
  a: { image: base, run: "echo a > $KILN_OUT/a" }
  b: { image: base, needs: [a], run: "echo b > $KILN_OUT/b" }
  c: { image: base, needs: [b], run: "echo c > $KILN_OUT/c" }
artifacts: [{ from: c, path: c }]
`);
    const events: BuildEvent[] = [];
    const engine = createFakeEngine((action) => ({ files: { c: `${action.label}\n` } }));
    const summary = await build({
      recipe, out: join(dir, 'out'), store: createMemoryStore(), engine, attest: { signKey: false }, reporter: (e) => events.push(e),
      remoteCache: { endpoint: `grpc://127.0.0.1:${await closedPort()}`, fromEnv: false, trustServer: true },
    });
    assert.is(engine.runs.length, 3);
    assert.is(summary.artifacts.length, 1);
    assert.equal(Object.values(summary.steps).map((s) => s.origin), [undefined, undefined, undefined]);
    const warnings = events.flatMap((e) => (e.type === 'cache-warning' ? [e.message] : []));
    assert.is(warnings.filter((w) => w.includes('remote cache unreachable')).length, 1, warnings.join('\n'));
  } finally {
    await cleanup();
  }
});

down.run();
