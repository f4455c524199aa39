import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { packageRoot } from '../util/package.js';

/** The .proto files kiln ships (proto/README.md says what they are and where they come from). */
export const PROTO_FILES = [
  'build/bazel/remote/execution/v2/remote_execution.proto',
  'google/bytestream/bytestream.proto',
  'google/longrunning/operations.proto',
] as const;

export const REAPI_PACKAGE = 'build.bazel.remote.execution.v2';

/** How decoded messages look (see messages.ts): the same for grpc-js replies and for `decode`. */
const CONVERSION = { longs: Number, enums: String, bytes: Buffer, defaults: true, arrays: true, objects: true, oneofs: true } as const;

function protoDir(): string {
  return join(packageRoot(), 'proto');
}

let services: grpc.GrpcObject | undefined;

/** The service constructors (Execution, ActionCache, ContentAddressableStorage, Capabilities, ByteStream, Operations). */
export function loadServices(): grpc.GrpcObject {
  services ??= grpc.loadPackageDefinition(
    protoLoader.loadSync([...PROTO_FILES], { includeDirs: [protoDir()], keepCase: false, ...CONVERSION }),
  );
  return services;
}

/** A service client constructor by its full name, e.g. `google.bytestream.ByteStream`. */
export function serviceClient(fullName: string): grpc.ServiceClientConstructor {
  let node: unknown = loadServices();
  for (const part of fullName.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function') throw new Error(`kiln installation is broken: no service ${fullName} in proto/`);
  return node as grpc.ServiceClientConstructor;
}

let root: protobuf.Root | undefined;

function messageRoot(): protobuf.Root {
  if (!root) {
    const r = new protobuf.Root();
    r.resolvePath = (_origin, target) => join(protoDir(), target);
    r.loadSync([...PROTO_FILES], { keepCase: false });
    r.resolveAll();
    root = r;
  }
  return root;
}

export function messageType(fullName: string): protobuf.Type {
  return messageRoot().lookupType(fullName);
}

/**
 * The wire bytes of a message. The object must leave out every default value (empty string,
 * false, 0, empty list): protobufjs writes a field when the key is present, and the REAPI's
 * canonical form (what other clients hash) omits defaults. Fields go out in field-number order.
 */
export function encode(fullName: string, value: object): Buffer {
  const type = messageType(fullName);
  return Buffer.from(type.encode(type.fromObject(value)).finish());
}

/** Decodes bytes into the plain shape of messages.ts; throws protobufjs's error on bad bytes. */
export function decode<T>(fullName: string, bytes: Uint8Array): T {
  const type = messageType(fullName);
  return type.toObject(type.decode(bytes), CONVERSION) as T;
}
