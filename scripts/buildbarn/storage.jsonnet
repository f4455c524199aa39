// bb_storage: the CAS and the action cache, and the frontend that forwards Execute and
// WaitExecution to bb_scheduler, so a client needs one endpoint (as with a real farm).
local common = import 'common.libsonnet';

{
  grpcServers: [
    {
      listenAddresses: [common.address(common.ports.frontend)],
      authenticationPolicy: common.allow,
    },
    {
      listenAddresses: [common.address(common.ports.frontendTls)],
      authenticationPolicy: common.allow,
      tls: {
        serverKeyPair: {
          files: {
            certificatePath: common.state + '/tls/server.crt',
            privateKeyPath: common.state + '/tls/server.key',
            refreshInterval: '3600s',
          },
        },
      },
    },
  ],
  maximumMessageSizeBytes: common.maximumMessageSizeBytes,
  schedulers: {
    '': { endpoint: { address: common.address(common.ports.schedulerClient) } },
  },
  executeAuthorizer: common.allow,
  contentAddressableStorage: {
    backend: common.localBlobAccess(common.state + '/storage-cas', 4 * 1024 * 1024 * 1024, 64 * 1024 * 1024, 3),
    getAuthorizer: common.allow,
    putAuthorizer: common.allow,
    findMissingAuthorizer: common.allow,
  },
  actionCache: {
    // Hides an ActionResult whose outputs are no longer all in the CAS.
    backend: {
      completenessChecking: {
        backend: common.localBlobAccess(common.state + '/storage-ac', 64 * 1024 * 1024, 4 * 1024 * 1024, 1),
        maximumTotalTreeSizeBytes: 64 * 1024 * 1024,
      },
    },
    getAuthorizer: common.allow,
    putAuthorizer: common.allow,
  },
}
