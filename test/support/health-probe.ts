/** gRPC health probes as Kubernetes and Envoy send them (unary Check, Watch stream). */
import { Client, credentials as grpcCredentials, type ChannelCredentials, type ClientReadableStream } from '@grpc/grpc-js';
import { healthServiceDefinition, type HealthCheckRequest, type HealthCheckResponse } from '../../src/frontends/health/health-codec.js';

/** One Check of `service` on `127.0.0.1:port`: the serving status, or `error:<grpc code>`. */
export async function grpcHealth(port: number, service = 'readiness', creds: ChannelCredentials = grpcCredentials.createInsecure(), timeoutMs = 3000): Promise<number | string> {
  const c = new Client(`127.0.0.1:${port}`, creds);
  const def = healthServiceDefinition.Check;
  try {
    return await new Promise((resolve) => {
      c.makeUnaryRequest<HealthCheckRequest, HealthCheckResponse>(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        { service },
        { deadline: Date.now() + timeoutMs },
        (err, res) => resolve(err ? `error:${err.code}` : res!.status),
      );
    });
  } finally {
    c.close();
  }
}

/** A Watch stream of `service`: every status the server sends, in order, with arrival times. */
export function watchHealth(port: number, service = 'readiness'): { statuses: Array<{ status: number; at: number }>; ended: Promise<number>; close(): void } {
  const c = new Client(`127.0.0.1:${port}`, grpcCredentials.createInsecure());
  const def = healthServiceDefinition.Watch;
  const call: ClientReadableStream<HealthCheckResponse> = c.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, { service });
  const statuses: Array<{ status: number; at: number }> = [];
  call.on('data', (m: HealthCheckResponse) => statuses.push({ status: m.status, at: Date.now() }));
  /** Resolves with the gRPC status code the stream ended with. */
  const ended = new Promise<number>((resolve) => {
    call.on('status', (s: { code: number }) => resolve(s.code));
    call.on('error', (e: { code?: number }) => resolve(e.code ?? -1));
  });
  return {
    statuses,
    ended,
    close() {
      call.cancel();
      c.close();
    },
  };
}
