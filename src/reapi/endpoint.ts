import { ReapiError } from './errors.js';

/** Where a farm is: `grpc://host:port[/instance/name]` (plaintext) or `grpcs://host[:port][/instance]` (TLS). */
export interface ReapiEndpoint {
  /** `host:port` as gRPC dials it (IPv6 in brackets). */
  address: string;
  tls: boolean;
  /** The REAPI instance name ('' when the URL has no path). */
  instanceName: string;
}

/** Path segments the REAPI reserves inside resource names; an instance name must not contain them. */
const RESERVED_SEGMENTS = new Set(['blobs', 'uploads', 'actions', 'actionResults', 'operations', 'capabilities', 'compressed-blobs']);

function badEndpoint(text: string, why: string): ReapiError {
  return new ReapiError('KILN_REAPI_BAD_ENDPOINT', `remote endpoint ${JSON.stringify(text)}: ${why}`, {
    hint: 'write grpc://host:port[/instance] or grpcs://host[:port][/instance]',
  });
}

/** Parses an endpoint URL; pure. grpcs defaults to port 443; grpc needs an explicit port. */
export function parseEndpoint(text: string): ReapiEndpoint {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badEndpoint(text, 'is not a URL');
  }
  const tls = url.protocol === 'grpcs:';
  if (!tls && url.protocol !== 'grpc:') throw badEndpoint(text, `scheme ${url.protocol.replace(/:$/, '')} is neither grpc nor grpcs`);
  if (url.username || url.password) throw badEndpoint(text, 'credentials in the URL are not accepted (use the bearer token option)');
  if (url.search || url.hash) throw badEndpoint(text, 'has a query or fragment');
  if (url.hostname === '') throw badEndpoint(text, 'has no host');
  const port = url.port || (tls ? '443' : '');
  if (port === '') throw badEndpoint(text, 'a plaintext grpc:// endpoint needs a port');
  const segments = url.pathname.split('/').filter((s) => s !== '');
  for (const s of segments) {
    if (s === '.' || s === '..' || RESERVED_SEGMENTS.has(s)) throw badEndpoint(text, `instance name segment ${JSON.stringify(s)} is reserved`);
    if (/%/.test(s)) throw badEndpoint(text, 'escaped characters are not accepted in the instance name');
  }
  return { address: `${url.hostname}:${port}`, tls, instanceName: segments.join('/') };
}

/** The endpoint back as a URL (what provenance records). */
export function formatEndpoint(endpoint: ReapiEndpoint): string {
  return `${endpoint.tls ? 'grpcs' : 'grpc'}://${endpoint.address}${endpoint.instanceName ? `/${endpoint.instanceName}` : ''}`;
}
