// One fetch in a fresh process, so its peak RSS is its own. Prints {ms, rssMiB}.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { basename, dirname } from 'node:path';
import { fetchInput } from '../src/fetch/index.js';
import { createStore } from '../src/store/index.js';

const [kind, file, integrity, storeRoot] = process.argv.slice(2) as [string, string, string, string];
const store = await createStore({ root: storeRoot });
const where = { file: 'bench' };
let server: ReturnType<typeof createServer> | undefined;
let url = '';
if (kind === 'url') {
  const size = (await stat(file)).size;
  server = createServer((_q, res) => {
    res.writeHead(200, { 'content-length': String(size) });
    createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/big.bin`;
}
const t0 = process.hrtime.bigint();
const spec =
  kind === 'url'
    ? { kind: 'url' as const, name: 'big', url, integrity, unpack: false, where }
    : { kind: 'path' as const, name: 'big', path: basename(file), integrity, unpack: false, where };
await fetchInput(store, spec, { recipeDir: dirname(file) });
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
server?.close();
console.log(JSON.stringify({ ms, rssMiB: process.resourceUsage().maxRSS / 1024 }));
