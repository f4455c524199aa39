import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { JSON_OPTIONS } from '../options.js';

export const cache = defineCommand({
  name: 'cache',
  summary: 'the store: stats, verify (rehash every object), gc',
  positionals: [{ name: 'stats|verify|gc' }],
  options: {
    'max-age': { type: 'string', value: 'DAYS', description: 'gc: keep what an action record or ref used in the last DAYS days reaches (default 30)' },
    'dry-run': { type: 'boolean', description: 'gc: say what would be removed, remove nothing' },
    ...JSON_OPTIONS,
  },
  notes: ['verify removes corrupt objects and dangling records; gc removes what no action record or ref used in the last --max-age days reaches.'],
  exit: '0 done · 1 verify found corrupt objects · 2 bad usage',
  async run({ values, positionals }, io) {
    const [sub] = positionals;
    if (sub !== 'stats' && sub !== 'verify' && sub !== 'gc') throw new UsageError(`unknown cache subcommand "${sub}"`);
    const { createStore } = await import('../../store/index.js');
    const store = await createStore();
    const emit = (value: unknown, human: string) => io.stdout.write(values.json ? JSON.stringify(value, null, 2) + '\n' : human);
    switch (sub) {
      case 'stats': {
        const s = await store.maintenance.stats();
        emit(s, `store ${s.root}\n  blobs ${s.blobs} (${s.blobBytes} bytes)\n  trees ${s.trees}\n  actions ${s.actions}\n  refs ${s.refs}\n  temp files ${s.tempFiles}\n`);
        return 0;
      }
      case 'verify': {
        const r = await store.maintenance.verify();
        emit(r, `checked ${r.checked} objects: ${r.corrupt.length} corrupt (removed), ${r.dangling.length} dangling records (removed)\n` + r.corrupt.map((d) => `  corrupt ${d}\n`).join(''));
        return r.corrupt.length > 0 ? 1 : 0;
      }
      case 'gc': {
        const days = values['max-age'] === undefined ? 30 : Number(values['max-age']);
        if (!Number.isFinite(days) || days < 0) throw new UsageError(`--max-age must be a number of days, got "${values['max-age']}"`);
        const r = await store.maintenance.gc({ maxAgeMs: days * 86_400_000, dryRun: values['dry-run'] });
        emit(r, `${values['dry-run'] ? 'would remove' : 'removed'} ${r.removedBlobs} blobs (${r.removedBytes} bytes), ${r.removedActions} action records, ${r.removedRefs} refs, ${r.removedTempFiles} temp files\n`);
        return 0;
      }
    }
  },
});
