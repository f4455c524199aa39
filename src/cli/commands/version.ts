import { defineCommand } from '../command.js';

export const version = defineCommand({
  name: 'version',
  summary: "kiln's version",
  options: {},
  async run(_args, io) {
    const { kilnVersion } = await import('../../util/package.js');
    io.stdout.write(`kiln ${kilnVersion()}\n`);
    return 0;
  },
});
