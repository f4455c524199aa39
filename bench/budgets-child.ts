// One measured task in a fresh process, against the kiln built at <root> (this tree or a
// base worktree): node dist/bench/budgets-child.js <root> <task> <args…>. Prints {ms}.
//   yaml <recipe file>       parseRecipe of the file's text
//   log <MiB>                LogSink fed <MiB> MiB without a newline, in 64 KiB chunks, closed
//   inspect <envelope file>  read the attestation file and inspect it
//   normalize <archive>      normalizeBlob of the archive, put into a fresh store first (not timed)
//   unpack <archive>         unpackArchive of the archive (ingest into the store), likewise
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const [root, task, ...args] = process.argv.slice(2);
const load = (path: string) => import(join(root!, 'dist', 'src', path));

async function run(): Promise<void> {
  switch (task) {
    case 'yaml': {
      const { parseRecipe } = await load('recipe/index.js');
      const text = await readFile(args[0]!, 'utf8');
      const t0 = performance.now();
      try {
        parseRecipe(text, args[0]!);
      } catch {
        // A refusal is an answer too; the time to it is what is measured.
      }
      return done(performance.now() - t0);
    }
    case 'log': {
      const { LogSink } = await load('build/log.js');
      // A store that takes the stream and keeps nothing: the sink's own cost is measured.
      const store = { putStream: async (s: NodeJS.ReadableStream) => (await pipeline(s, new Writable({ write: (_c, _e, cb) => cb() })), { digest: 'sha256:0', size: 0 }) };
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const t0 = performance.now();
      const sink = new LogSink(store, () => {});
      for (let i = 0; i < Number(args[0]) * 16; i++) sink.write(chunk, 'stdout');
      await sink.close();
      return done(performance.now() - t0);
    }
    case 'inspect': {
      const { inspectAttestation, readAttestationFile } = await load('verify/index.js');
      const t0 = performance.now();
      inspectAttestation(await readAttestationFile(args[0]!));
      return done(performance.now() - t0);
    }
    case 'normalize':
    case 'unpack': {
      const { createStore } = await load('store/index.js');
      const { normalizeBlob } = await load('archive/normalize.js');
      const { unpackArchive } = await load('archive/unpack.js');
      const dir = await mkdtemp(join(tmpdir(), 'kiln-bench-store-'));
      try {
        const store = await createStore({ root: dir });
        const { digest } = await store.putFile(args[0]!);
        const t0 = performance.now();
        if (task === 'normalize') await normalizeBlob(store, digest, { sourceDateEpoch: 1_700_000_000 });
        else await unpackArchive(store, digest, { label: 'bench' });
        return done(performance.now() - t0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    default:
      throw new Error(`unknown task ${task}`);
  }
}

function done(ms: number): void {
  console.log(JSON.stringify({ ms }));
}

await run();
