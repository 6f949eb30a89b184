/**
 * The ext_proc wire codec and the grpc-js service definition built on it.
 *
 * grpc-js takes raw serialize/deserialize functions, so no @grpc/proto-loader object conversion
 * runs on the hot path: messages go straight through protobufjs' compiled encoders/decoders.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadProtoRoot } from '../grpc/proto-root.js';
import type { ProcessingRequest, ProcessingResponse } from './messages.js';

/** Proto files (relative to proto/) that define the ext_proc service. */
export const EXT_PROC_PROTO = 'envoy/service/ext_proc/v3/external_processor.proto';

/** Fully-qualified service name; also a health-check service name. */
export const EXT_PROC_SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';

/** gRPC method path of the bidirectional `Process` stream. */
export const PROCESS_PATH = `/${EXT_PROC_SERVICE}/Process`;

const root = loadProtoRoot([EXT_PROC_PROTO]);
const requestType = root.lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
const responseType = root.lookupType('envoy.service.ext_proc.v3.ProcessingResponse');

/** The protobufjs root holding the ext_proc types (for tests and tools). */
export const extProcRoot = root;

/** Decodes one ProcessingRequest; throws on malformed bytes (grpc-js turns that into INTERNAL). */
export function decodeProcessingRequest(bytes: Buffer): ProcessingRequest {
  return requestType.decode(bytes) as unknown as ProcessingRequest;
}

/** Encodes one ProcessingRequest (the test client and the benchmark use it). */
export function encodeProcessingRequest(message: ProcessingRequest): Buffer {
  return requestType.encode(message as never).finish() as Buffer;
}

/** Encodes one ProcessingResponse. */
export function encodeProcessingResponse(message: ProcessingResponse): Buffer {
  return responseType.encode(message as never).finish() as Buffer;
}

/** What the server writes: a message, or one already encoded (the hot responses, see fast-encode.ts). */
export type OutboundResponse = ProcessingResponse | Buffer;

/** grpc-js response serializer: pre-encoded responses pass through. */
export function serializeResponse(message: OutboundResponse): Buffer {
  return Buffer.isBuffer(message) ? message : encodeProcessingResponse(message);
}

/** Decodes one ProcessingResponse (the test client uses it). */
export function decodeProcessingResponse(bytes: Buffer): ProcessingResponse {
  return responseType.decode(bytes) as unknown as ProcessingResponse;
}

/** grpc-js service definition of `envoy.service.ext_proc.v3.ExternalProcessor`. */
export const extProcServiceDefinition = {
  Process: {
    path: PROCESS_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: encodeProcessingRequest,
    requestDeserialize: decodeProcessingRequest,
    responseSerialize: serializeResponse,
    responseDeserialize: decodeProcessingResponse,
    originalName: 'process',
  },
} satisfies ServiceDefinition;
