/** gRPC health (Check, Watch, List) on the health port and on the ext_proc port. */
import { Client, credentials, status as GrpcStatus } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  healthServiceDefinition,
  ServingStatus,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthListResponse,
} from '../../src/frontends/health/health-codec.js';
import { eventually, startHarness, type Harness } from '../support/extproc-harness.js';
import { routeAll } from '../support/scripted-director.js';

let h: Harness | null = null;
let clients: Client[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await h?.close();
  h = null;
});

function healthClient(port: number): Client {
  const c = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  clients.push(c);
  return c;
}

function check(c: Client, service: string): Promise<{ status?: number; code?: number }> {
  const def = healthServiceDefinition.Check;
  return new Promise((resolve) => {
    c.makeUnaryRequest<HealthCheckRequest, HealthCheckResponse>(def.path, def.requestSerialize, def.responseDeserialize, { service }, (err, res) => {
      resolve(err ? { code: err.code } : { status: res!.status });
    });
  });
}

describe('gRPC health', () => {
  it('answers Check for liveness, readiness, the ext_proc service and "" from the readiness source', async () => {
    h = await startHarness(routeAll('10.0.0.1:8000'));
    const c = healthClient(h.server.healthPort!);
    h.readiness.value = false;
    expect(await check(c, 'liveness')).toEqual({ status: ServingStatus.SERVING });
    for (const s of ['readiness', 'envoy.service.ext_proc.v3.ExternalProcessor', '', 'inference-extension']) {
      expect(await check(c, s)).toEqual({ status: ServingStatus.NOT_SERVING });
    }
    h.readiness.value = true;
    for (const s of ['readiness', 'envoy.service.ext_proc.v3.ExternalProcessor', '']) {
      expect(await check(c, s)).toEqual({ status: ServingStatus.SERVING });
    }
    expect(await check(c, 'no-such-service')).toEqual({ code: GrpcStatus.NOT_FOUND });
  });

  it('serves health on the ext_proc port too (Envoy health-checks the EPP cluster there)', async () => {
    h = await startHarness(routeAll('10.0.0.1:8000'));
    expect(await check(healthClient(h.server.port), 'envoy.service.ext_proc.v3.ExternalProcessor')).toEqual({
      status: ServingStatus.SERVING,
    });
  });

  it('lists every known service', async () => {
    h = await startHarness(routeAll('10.0.0.1:8000'));
    const def = healthServiceDefinition.List;
    const res = await new Promise<HealthListResponse>((resolve, reject) =>
      healthClient(h!.server.healthPort!).makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, {}, (err, r) =>
        err ? reject(err) : resolve(r!),
      ),
    );
    expect(Object.keys(res.statuses).sort()).toEqual(
      ['', 'envoy.service.ext_proc.v3.ExternalProcessor', 'inference-extension', 'liveness', 'readiness'].sort(),
    );
  });

  it('streams readiness changes on Watch, SERVICE_UNKNOWN for unknown names, NOT_SERVING on drain', async () => {
    h = await startHarness(routeAll('10.0.0.1:8000'), { healthPollIntervalMs: 20 });
    h.readiness.value = false;
    const c = healthClient(h.server.healthPort!);
    const def = healthServiceDefinition.Watch;
    const seen: number[] = [];
    const unknown: number[] = [];
    const call = c.makeServerStreamRequest<HealthCheckRequest, HealthCheckResponse>(def.path, def.requestSerialize, def.responseDeserialize, {
      service: 'readiness',
    });
    call.on('data', (r: HealthCheckResponse) => seen.push(r.status));
    call.on('error', () => {});
    const other = c.makeServerStreamRequest<HealthCheckRequest, HealthCheckResponse>(def.path, def.requestSerialize, def.responseDeserialize, {
      service: 'nope',
    });
    other.on('data', (r: HealthCheckResponse) => unknown.push(r.status));
    other.on('error', () => {});
    await eventually(() => seen.length === 1 && unknown.length === 1);
    expect(seen).toEqual([ServingStatus.NOT_SERVING]);
    expect(unknown).toEqual([ServingStatus.SERVICE_UNKNOWN]);
    h.readiness.value = true;
    await eventually(() => seen.length === 2);
    h.server.health.setDraining();
    await eventually(() => seen.length === 3);
    expect(seen).toEqual([ServingStatus.NOT_SERVING, ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    expect(await check(c, 'liveness')).toEqual({ status: ServingStatus.SERVING });
    call.cancel();
    other.cancel();
  });
});
