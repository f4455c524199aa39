// bb_worker number KILN_BB_WORKER: fetches an action's input root into a native (hardlinked)
// build directory, asks its bb_runner to run the command, uploads the outputs.
local common = import 'common.libsonnet';
local id = std.extVar('KILN_BB_WORKER');
local dir = common.state + '/worker-' + id;

{
  blobstore: {
    contentAddressableStorage: { grpc: { client: { address: common.address(common.ports.frontend) } } },
    actionCache: { grpc: { client: { address: common.address(common.ports.frontend) } } },
  },
  browserUrl: 'http://127.0.0.1:1',
  maximumMessageSizeBytes: common.maximumMessageSizeBytes,
  scheduler: { address: common.address(common.ports.schedulerWorker) },
  buildDirectories: [{
    native: {
      buildDirectoryPath: dir + '/build',
      cacheDirectoryPath: dir + '/cache',
      maximumCacheFileCount: 100000,
      maximumCacheSizeBytes: 2 * 1024 * 1024 * 1024,
      cacheReplacementPolicy: 'LEAST_RECENTLY_USED',
    },
    runners: [{
      endpoint: { address: 'unix:' + dir + '/runner.sock' },
      // One action at a time per worker: two workers run two actions in parallel.
      concurrency: 1,
      maximumFilePoolFileCount: 100000,
      maximumFilePoolSizeBytes: 1024 * 1024 * 1024,
      platform: common.platform,
      // Reported back as ExecutedActionMetadata.worker (as JSON of these pairs).
      workerId: { cluster: 'kiln-test', worker: id },
      // The runner chroots into the input root: it holds a whole image, and gets the
      // device nodes a program expects (created with the host's major/minor numbers).
      inputRootCharacterDeviceNodes: ['full', 'null', 'random', 'tty', 'urandom', 'zero'],
      // (buildDirectoryOwnerUserId/GroupId apply to virtual build directories only: this native
      // one gets writable folders from bb_worker's umask 000, set by buildbarn.sh.)
    }],
  }],
  filePool: {
    blockDevice: { file: { path: dir + '/filepool', sizeBytes: 1024 * 1024 * 1024 } },
  },
  inputDownloadConcurrency: 16,
  outputUploadConcurrency: 16,
  directoryCache: {
    maximumCount: 10000,
    maximumSizeBytes: 16 * 1024 * 1024,
    cacheReplacementPolicy: 'LEAST_RECENTLY_USED',
  },
  // Let clients that send REv2.0 Command.output_directories work too.
  supportLegacyOutputFilesAndDirectories: true,
}
