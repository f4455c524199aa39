// Shared settings of kiln's local test cluster. scripts/buildbarn.sh exports the variables read
// here; Buildbarn hands every environment variable to Jsonnet as std.extVar.
// Written against the configuration protos of bb-remote-execution
// v0.0.0-20260319042723-cd89f0554d18 / bb-storage v0.0.0-20260317135248-dc342e1799d7
// (pkg/proto/configuration/*), following the layout of buildbarn/bb-deployments' `bare` setup.
local base = std.parseInt(std.extVar('KILN_BB_PORT_BASE'));
local state = std.extVar('KILN_BB_STATE');

{
  state: state,
  host: '127.0.0.1',
  ports: {
    // What clients use: CAS, AC, ByteStream, Capabilities and Execution on one endpoint.
    frontend: base,
    // The same bb_storage over TLS (certificate made by buildbarn.sh in the state folder).
    frontendTls: base + 1,
    schedulerClient: base + 2,
    schedulerWorker: base + 3,
    schedulerAdmin: base + 4,
  },
  address(port): '127.0.0.1:' + port,
  allow: { allow: {} },
  // The platform every worker advertises; an Action must carry exactly these properties.
  platform: { properties: [{ name: 'OSFamily', value: 'linux' }] },
  maximumMessageSizeBytes: 16 * 1024 * 1024,

  // A LocalBlobAccess on a sparse file: nothing survives `buildbarn.sh stop`.
  // newBlocks: the CAS may spread writes over several blocks; the AC must use 1 (an entry can
  // be replaced, and bb_storage refuses anything else for it).
  localBlobAccess(dir, sizeBytes, mapBytes, newBlocks): {
    'local': {
      keyLocationMapOnBlockDevice: { file: { path: dir + '/key_location_map', sizeBytes: mapBytes } },
      keyLocationMapMaximumGetAttempts: 16,
      keyLocationMapMaximumPutAttempts: 64,
      oldBlocks: 8,
      currentBlocks: 24,
      newBlocks: newBlocks,
      blocksOnBlockDevice: {
        source: { file: { path: dir + '/blocks', sizeBytes: sizeBytes } },
        spareBlocks: 3,
      },
    },
  },
}
