// One `kiln verify` in a fresh process, so its peak RSS and its module loading are its own.
// Args: the verify command's arguments. Prints {ms, code, rssMiB} (ms: the command, not startup).
import { main } from '../src/cli/main.js';

const t0 = process.hrtime.bigint();
let output = '';
const io = { stdout: { write: (t: string) => void (output += t) }, stderr: { write: (t: string) => void (output += t) } };
const code = await main(['verify', ...process.argv.slice(2)], io);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
if (code !== 0) process.stderr.write(output);
console.log(JSON.stringify({ ms, code, rssMiB: process.resourceUsage().maxRSS / 1024 }));
