/** Starts a real ext_proc server on loopback and an Envoy-like client against it. */
import { pino } from 'pino';
import type { Director } from '../../src/director/types.js';
import { startExtProcServer, type ExtProcServer, type ExtProcServerOptions } from '../../src/frontends/extproc/server.js';
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
  const server = await startExtProcServer({
    director,
    readiness,
    host: '127.0.0.1',
    port: 0,
    healthPort: 0,
    secure: false,
    logger: pino({ level: 'silent' }),
    ...serverOptions,
  });
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
export async function metricValue(server: ExtProcServer, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = server.metricsRegistry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  let total = 0;
  for (const v of data.values) {
    const l = v.labels as Record<string, string | number>;
    if (Object.entries(labels).every(([k, want]) => String(l[k]) === want)) total += v.value;
  }
  return total;
}

/** Polls `check` every 10 ms until it holds or `timeoutMs` passes (bounded, for async effects). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Narrows a request outcome to "sent upstream", failing the test with the local reply otherwise. */
export function upstreamOf(o: RequestOutcome): Extract<RequestOutcome, { kind: 'upstream' }> {
  if (o.kind !== 'upstream') throw new Error(`expected the request to go upstream, got local reply ${o.status} ${o.body}`);
  return o;
}
