// `kiln diff` as one process, for timing and peak RSS: the CLI's own entry with the command
// fixed (node dist/bench/diff-cli.js <a> <b> [--json]).
import { main } from '../src/cli/main.js';

main(['diff', ...process.argv.slice(2)]).then((code) => {
  process.exitCode = code;
});
