/** grpc.health.v1 codec and grpc-js service definition (protobufjs, no proto-loader). */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadProtoRoot } from '../grpc/proto-root.js';

const root = loadProtoRoot(['grpc/health/v1/health.proto']);
const checkRequest = root.lookupType('grpc.health.v1.HealthCheckRequest');
const checkResponse = root.lookupType('grpc.health.v1.HealthCheckResponse');
const listRequest = root.lookupType('grpc.health.v1.HealthListRequest');
const listResponse = root.lookupType('grpc.health.v1.HealthListResponse');

/** HealthCheckResponse.ServingStatus. */
export const ServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
export type ServingStatusValue = (typeof ServingStatus)[keyof typeof ServingStatus];

export interface HealthCheckRequest {
  service?: string;
}
export interface HealthCheckResponse {
  status: ServingStatusValue;
}
export interface HealthListResponse {
  statuses: Record<string, HealthCheckResponse>;
}

function codec<T>(type: { encode(m: never): { finish(): Uint8Array }; decode(b: Uint8Array): unknown }) {
  return {
    serialize: (m: T): Buffer => type.encode(m as never).finish() as Buffer,
    deserialize: (b: Buffer): T => type.decode(b) as T,
  };
}

const req = codec<HealthCheckRequest>(checkRequest);
const res = codec<HealthCheckResponse>(checkResponse);
const listReq = codec<Record<string, never>>(listRequest);
const listRes = codec<HealthListResponse>(listResponse);

/** grpc-js definition of `grpc.health.v1.Health` (Check, List, Watch). */
export const healthServiceDefinition = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: req.serialize,
    requestDeserialize: req.deserialize,
    responseSerialize: res.serialize,
    responseDeserialize: res.deserialize,
  },
  List: {
    path: '/grpc.health.v1.Health/List',
    requestStream: false,
    responseStream: false,
    requestSerialize: listReq.serialize,
    requestDeserialize: listReq.deserialize,
    responseSerialize: listRes.serialize,
    responseDeserialize: listRes.deserialize,
  },
  Watch: {
    path: '/grpc.health.v1.Health/Watch',
    requestStream: false,
    responseStream: true,
    requestSerialize: req.serialize,
    requestDeserialize: req.deserialize,
    responseSerialize: res.serialize,
    responseDeserialize: res.deserialize,
  },
} satisfies ServiceDefinition;
