import * as tar from 'tar-stream';
import type { Store } from '../store/types.js';
import type { Digest } from '../util/digest.js';
import { selectArMember } from './ar.js';
import { decompress, type Compression } from './decompress.js';
import { ArchiveError, asArchiveError } from './errors.js';

/** A control file is a few KiB; a larger one is not a package kiln reads. */
export const MAX_DEB_CONTROL_BYTES = 1 << 20;

/** The control member of a .deb and how it is compressed (dpkg-deb writes one of these). */
const CONTROL_PAYLOADS: Record<string, Compression> = {
  'control.tar': 'none',
  'control.tar.gz': 'gzip',
  'control.tar.xz': 'xz',
  'control.tar.zst': 'zstd',
};

/**
 * The text of a .deb's `control` file (the package's name, version, relations), read from the
 * control.tar member as it streams: nothing is written anywhere, and a control file over
 * MAX_DEB_CONTROL_BYTES is refused.
 */
export async function readDebControl(store: Store, blob: Digest, options: { label: string }): Promise<string> {
  const { label } = options;
  const member = selectArMember(store.openBlob(blob), (name) => name.startsWith('control.tar'), label);
  const name = await member.name;
  const compression = CONTROL_PAYLOADS[name];
  if (compression === undefined) {
    member.stream.destroy();
    throw new ArchiveError('KILN_ARCHIVE_UNSUPPORTED', `${label}: the .deb control member ${JSON.stringify(name)} uses a compression kiln does not read`, { label, entry: name });
  }
  const decompressed = decompress(compression, member.stream, label);
  const extract = tar.extract();
  decompressed.stream.on('error', (err) => extract.destroy(err));
  decompressed.stream.pipe(extract);
  let control: string | undefined;
  try {
    for await (const entry of extract) {
      const path = entry.header.name.replace(/^\.\//, '');
      if (path === 'control' && entry.header.type === 'file') {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > MAX_DEB_CONTROL_BYTES) {
            throw new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: the .deb control file is larger than ${MAX_DEB_CONTROL_BYTES} bytes`, { label, entry: 'control' });
          }
          chunks.push(chunk);
        }
        control = Buffer.concat(chunks).toString('utf8');
        continue;
      }
      for await (const _ of entry) void _;
    }
  } catch (err) {
    decompressed.abort();
    throw asArchiveError(err, label, 'reading the .deb control member');
  }
  await decompressed.done;
  if (control === undefined) throw new ArchiveError('KILN_ARCHIVE_CORRUPT', `${label}: the .deb has no control file`, { label });
  return control;
}
