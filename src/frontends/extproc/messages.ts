/**
 * TypeScript shapes of the ext_proc v3 messages as protobufjs encodes and decodes them
 * (camelCase field names; see proto/envoy/service/ext_proc/v3/external_processor.proto).
 *
 * Decoded messages carry prototype defaults: absent sub-messages are `null`, absent `bytes` an
 * empty array (not a Buffer), absent scalars 0/false/''. Read them through the helpers here.
 */

/** ProcessingMode.BodySendMode. */
export const BodySendMode = {
  NONE: 0,
  STREAMED: 1,
  BUFFERED: 2,
  BUFFERED_PARTIAL: 3,
  FULL_DUPLEX_STREAMED: 4,
  GRPC: 5,
} as const;
export type BodySendModeValue = (typeof BodySendMode)[keyof typeof BodySendMode];

/** CommonResponse.ResponseStatus. */
export const ResponseStatus = { CONTINUE: 0, CONTINUE_AND_REPLACE: 1 } as const;

/** envoy.config.core.v3.HeaderValue: Envoy fills `rawValue`; old clients may use `value`. */
export interface HeaderValue {
  key: string;
  value?: string;
  rawValue?: Uint8Array;
}

export interface HeaderMap {
  headers?: HeaderValue[];
}

export interface HeaderValueOption {
  header: HeaderValue;
  /** google.protobuf.BoolValue; absent = overwrite, the ext_proc default. */
  append?: { value: boolean } | null;
}

export interface HttpHeaders {
  headers?: HeaderMap | null;
  /** True when the message has no body. */
  endOfStream?: boolean;
}

export interface HttpBody {
  body?: Uint8Array;
  endOfStream?: boolean;
}

export interface HttpTrailers {
  trailers?: HeaderMap | null;
}

/** google.protobuf.Value. */
export interface ProtoValue {
  nullValue?: number;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct | null;
  listValue?: { values?: ProtoValue[] } | null;
}

/** google.protobuf.Struct. */
export interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}

/** envoy.config.core.v3.Metadata. */
export interface Metadata {
  filterMetadata?: Record<string, ProtoStruct>;
}

export interface ProtocolConfiguration {
  requestBodyMode?: number;
  responseBodyMode?: number;
  sendBodyWithoutWaitingForHeaderResponse?: boolean;
}

/** What Envoy sends; exactly one of the six phase fields is set. */
export interface ProcessingRequest {
  requestHeaders?: HttpHeaders | null;
  responseHeaders?: HttpHeaders | null;
  requestBody?: HttpBody | null;
  responseBody?: HttpBody | null;
  requestTrailers?: HttpTrailers | null;
  responseTrailers?: HttpTrailers | null;
  metadataContext?: Metadata | null;
  observabilityMode?: boolean;
  protocolConfig?: ProtocolConfiguration | null;
}

export interface HeaderMutation {
  setHeaders?: HeaderValueOption[];
  removeHeaders?: string[];
}

export interface StreamedBodyResponse {
  body?: Uint8Array;
  endOfStream?: boolean;
}

export interface BodyMutation {
  body?: Uint8Array;
  clearBody?: boolean;
  streamedResponse?: StreamedBodyResponse;
}

export interface CommonResponse {
  status?: number;
  headerMutation?: HeaderMutation;
  bodyMutation?: BodyMutation;
  clearRouteCache?: boolean;
}

export interface HeadersResponse {
  response?: CommonResponse;
}

export interface BodyResponse {
  response?: CommonResponse;
}

export interface TrailersResponse {
  headerMutation?: HeaderMutation;
}

export interface ImmediateResponse {
  status: { code: number };
  headers?: HeaderMutation;
  body?: Uint8Array;
  details?: string;
}

/** What the server sends; exactly one of the response fields is set. */
export interface ProcessingResponse {
  requestHeaders?: HeadersResponse;
  responseHeaders?: HeadersResponse;
  requestBody?: BodyResponse;
  responseBody?: BodyResponse;
  requestTrailers?: TrailersResponse;
  responseTrailers?: TrailersResponse;
  immediateResponse?: ImmediateResponse;
  dynamicMetadata?: ProtoStruct;
}

const EMPTY = Buffer.alloc(0);

/** A decoded `bytes` field as a Buffer without copying (protobufjs yields Buffers or `[]`). */
export function bytesOf(value: Uint8Array | undefined | null): Buffer {
  if (value === undefined || value === null || value.length === 0) return EMPTY;
  if (Buffer.isBuffer(value)) return value;
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
