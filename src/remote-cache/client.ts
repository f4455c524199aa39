import type { ReapiClient } from '../reapi/client.js';

/** What the shared cache needs of a REAPI client: the CAS and the action cache, nothing of execution. */
export type RemoteCacheClient = Pick<
  ReapiClient,
  'endpoint' | 'instanceName' | 'findMissingBlobs' | 'uploadMissing' | 'readBlobs' | 'openBlobStream' | 'getActionResult' | 'updateActionResult' | 'close'
>;

/** `grpc[s]://host:port` of a client, without the instance (the origin records it apart). */
export function endpointBase(remote: Pick<ReapiClient, 'endpoint' | 'instanceName'>): string {
  const url = remote.endpoint;
  return remote.instanceName && url.endsWith(`/${remote.instanceName}`) ? url.slice(0, -remote.instanceName.length - 1) : url;
}
