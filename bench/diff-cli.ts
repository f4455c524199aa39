// `kiln diff` as one process, for timing and peak RSS: what `kiln diff <a> <b> [--json]`
// does once the CLI dispatches to it (node dist/bench/diff-cli.js <a> <b> [--json]).
import { runDiffCommand } from '../src/diff/command.js';

const io = {
  stdout: { write: (t: string) => void process.stdout.write(t), isTTY: process.stdout.isTTY },
  stderr: { write: (t: string) => void process.stderr.write(t) },
};
runDiffCommand(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err?.message ?? String(err));
    process.exitCode = 2;
  },
);
