/** Starts a real ext_proc server on loopback (the shared harness's) and an Envoy-like client against it. */
import type { Registry } from 'prom-client';
import { startExtProc } from '../../harness/index.js';
import { decodeProcessingResponse, PROCESS_PATH } from '../../src/frontends/extproc/codec.js';
import type { Director } from '../../src/director/types.js';
import type { ExtProcServer, ExtProcServerOptions } from '../../src/frontends/extproc/server.js';
export { eventually } from '../../harness/index.js';
import { EnvoyExtProcClient, type EnvoyClientOptions, type RequestOutcome } from './envoy-client.js';

export interface Harness {
  server: ExtProcServer;
  envoy: EnvoyExtProcClient;
  /** Ready flag the health service reads. */
  readiness: { value: boolean; ready(): boolean };
  close(): Promise<void>;
}

/** Plaintext server on 127.0.0.1 with ephemeral ports, and a client for it. */
export async function startHarness(
  director: Director,
  serverOptions: Partial<ExtProcServerOptions> = {},
  clientOptions: Partial<EnvoyClientOptions> = {},
): Promise<Harness> {
  const readiness = {
    value: true,
    ready() {
      return this.value;
    },
  };
  const server = await startExtProc(director, { readiness, ...serverOptions });
  const envoy = new EnvoyExtProcClient({ address: `127.0.0.1:${server.port}`, ...clientOptions });
  return {
    server,
    envoy,
    readiness,
    async close() {
      envoy.close();
      await server.close();
    },
  };
}

/** Reads one metric's value from the server's registry (sum over label sets matching `labels`). */
export function metricValue(server: ExtProcServer, name: string, labels: Record<string, string> = {}): Promise<number> {
  return registryValue(server.metricsRegistry, name, labels);
}

/** Sum of a metric's values in `registry` over the series whose labels match `labels`; 0 if absent. */
export async function registryValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  let total = 0;
  for (const v of data.values) {
    const l = v.labels as Record<string, string | number>;
    if (Object.entries(labels).every(([k, want]) => String(l[k]) === want)) total += v.value;
  }
  return total;
}

/** Writes raw frames on a Process stream (half-closing after them unless told not to); resolves with the final status. */
export function rawStream(envoy: EnvoyExtProcClient, frames: Buffer[], halfClose = true): Promise<{ code: number; details: string }> {
  const call = envoy.client.makeBidiStreamRequest(PROCESS_PATH, (b: Buffer) => b, decodeProcessingResponse);
  return new Promise((resolve) => {
    call.on('data', () => {});
    call.on('error', () => {});
    call.on('status', (s) => resolve({ code: s.code, details: s.details }));
    for (const f of frames) call.write(f);
    if (halfClose) call.end();
  });
}


/** Narrows a request outcome to "sent upstream", failing the test with the local reply otherwise. */
export function upstreamOf(o: RequestOutcome): Extract<RequestOutcome, { kind: 'upstream' }> {
  if (o.kind !== 'upstream') throw new Error(`expected the request to go upstream, got local reply ${o.status} ${o.body}`);
  return o;
}
