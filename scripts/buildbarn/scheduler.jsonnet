// bb_scheduler: queues actions by instance name and platform, hands them to the workers.
local common = import 'common.libsonnet';

{
  clientGrpcServers: [{
    listenAddresses: [common.address(common.ports.schedulerClient)],
    authenticationPolicy: common.allow,
  }],
  workerGrpcServers: [{
    listenAddresses: [common.address(common.ports.schedulerWorker)],
    authenticationPolicy: common.allow,
  }],
  adminHttpServers: [{
    listenAddresses: [common.address(common.ports.schedulerAdmin)],
    authenticationPolicy: common.allow,
  }],
  browserUrl: 'http://127.0.0.1:1',
  contentAddressableStorage: { grpc: { client: { address: common.address(common.ports.frontend) } } },
  maximumMessageSizeBytes: common.maximumMessageSizeBytes,
  executeAuthorizer: common.allow,
  modifyDrainsAuthorizer: common.allow,
  killOperationsAuthorizer: common.allow,
  synchronizeAuthorizer: common.allow,
  actionRouter: {
    simple: {
      platformKeyExtractor: { action: {} },
      invocationKeyExtractors: [
        { correlatedInvocationsId: {} },
        { toolInvocationId: {} },
      ],
      initialSizeClassAnalyzer: {
        defaultExecutionTimeout: '1800s',
        maximumExecutionTimeout: '7200s',
      },
    },
  },
  // Accept Execute requests for the workers' platform even before a worker has connected.
  predeclaredPlatformQueues: [{
    instanceNamePrefix: '',
    platform: common.platform,
    // Workers leave size_class at 0.
    sizeClasses: [0],
  }],
  platformQueueWithNoWorkersTimeout: '900s',
}
