import type { RemoteCacheEvent } from './events.js';

/**
 * What a person should hear of an event: refusals, an unreachable server and failed uploads
 * (hits show as cached steps, uploads are silent). Pure; undefined for events not worth a line.
 */
export function describeRemoteCacheEvent(event: RemoteCacheEvent): string | undefined {
  const who = 'label' in event && event.label !== undefined ? `${event.label}: ` : '';
  switch (event.type) {
    case 'refused':
      return `${who}remote cache entry refused (${event.code}): ${event.reason}; running it here`;
    case 'unreachable':
      return `remote cache unreachable, going on without it: ${event.reason}`;
    case 'failed':
      return `${who}remote cache: ${event.what} failed${event.code ? ` (${event.code})` : ''}: ${event.reason}`;
    case 'hit':
    case 'uploaded':
    case 'shared':
      return undefined;
  }
}
