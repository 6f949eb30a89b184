/**
 * The Go EPP's hermetic setup, with real parts only: the real core (the shared harness's `startCore`: pool,
 * scrape loops, scheduler, admission, director, telemetry) scraping real /metrics HTTP servers
 * on loopback, the real ext_proc gRPC server in front, the real Prometheus endpoint, and the
 * Envoy-faithful client. Pods are `pod-<i>` at 127.0.0.<i+1>:8000, like the Go harness's
 * 192.168.1.<i+1>:8000 (only loopback addresses are used here).
 */
import { startCore, startExtProc } from '../../harness/index.js';
import { parseConfig } from '../../src/config/load.js';
import type { ExtProcServer } from '../../src/frontends/extproc/server.js';
import { seededRandom } from '../../src/util/random.js';
import type { Switchboard } from '../../src/switchboard.js';
import { startMetricsServer } from '../../src/telemetry/metrics-server.js';
import { EnvoyExtProcClient, type EnvoyClientOptions } from './envoy-client.js';
import { eventually } from './extproc-harness.js';
import { startMetricsPod, type MetricsPod, type PodState } from './model-server-metrics.js';
import { HERMETIC_CONFIG as SCHEDULING_CONFIG } from './scheduling.js';

/** The Go harness's objectives and rewrite (test/testdata/inferencepool-with-model-hermetic.yaml). */
const OBJECTIVES_AND_REWRITES = `objectives:
- name: sql-lora
  priority: 2
- name: my-model
  priority: 2
- name: direct-model
  priority: 2
- name: sql-lora-sheddable
- name: priority-4-model
  priority: 4
- name: sheddable-model
  priority: -1
modelRewrites:
- model: model-to-be-rewritten
  targets:
  - model: rewritten-model
    weight: 100
`;

/** The Go harness's scheduling config (four scorers at weight 1) with its objectives and rewrite. */
export const HERMETIC_CONFIG = `${SCHEDULING_CONFIG.trimEnd()}\n${OBJECTIVES_AND_REWRITES}`;

/** The same with the passthrough parser (Go case: routes without reading the body). */
export const PASSTHROUGH_CONFIG = `${HERMETIC_CONFIG.replace('- type: max-score-picker\n', '- type: max-score-picker\n- type: passthrough-parser\n')}parser:\n  pluginRef: passthrough-parser\n`;

/** Target port of every fake pod (never connected to: ext_proc only names the destination). */
export const POD_PORT = 8000;

export interface Hermetic {
  core: Switchboard;
  server: ExtProcServer;
  envoy: EnvoyExtProcClient;
  pods: MetricsPod[];
  /** Pod i's endpoint key, `127.0.0.<i+1>:8000`. */
  key(i: number): string;
  /** Changes pod states and waits until the pool has scraped the new values. */
  setPods(states: PodState[]): Promise<void>;
  /** The EPP's Prometheus page, fetched over HTTP. */
  metricsText(): Promise<string>;
  close(): Promise<void>;
}

/** Starts pods with `states`, the core scraping them, and the ext_proc server in front. */
export async function startHermetic(
  states: PodState[],
  options: { config?: string; client?: Partial<EnvoyClientOptions> } = {},
): Promise<Hermetic> {
  const pods = await Promise.all(states.map((s, i) => startMetricsPod(`127.0.0.${i + 1}`, { ...s })));
  const core = await startCore({
    config: parseConfig(options.config ?? HERMETIC_CONFIG, 'hermetic config'),
    endpoints: pods.map((p, i) => ({ name: `pod-${i}`, address: p.address, port: POD_PORT, metricsPort: p.metricsPort })),
    poolName: 'vllm-llama3-8b-instruct-pool',
    collector: { intervalMs: 10, timeoutMs: 1000 },
    rng: seededRandom(42),
    version: 'test',
  });
  const waitScraped = async () => {
    // Two more scrapes of every pod than now: the newest state has then been read.
    const marks = pods.map((p) => p.scrapes + 2);
    await eventually(() => pods.every((p, i) => p.scrapes >= marks[i]) && core.pool.endpoints().every((e) => e.metrics !== null));
  };
  await waitScraped();
  const server = await startExtProc(core.director, { readiness: { ready: () => core.pool.synced } });
  const metrics = await startMetricsServer({ registry: core.telemetry!.registry, port: 0, host: '127.0.0.1' });
  const envoy = new EnvoyExtProcClient({ address: `127.0.0.1:${server.port}`, ...options.client });
  return {
    core,
    server,
    envoy,
    pods,
    key: (i) => `127.0.0.${i + 1}:${POD_PORT}`,
    async setPods(next) {
      next.forEach((s, i) => (pods[i].state = { ...s }));
      await waitScraped();
    },
    async metricsText() {
      const res = await fetch(`http://127.0.0.1:${metrics.port}/metrics`);
      return res.text();
    },
    async close() {
      envoy.close();
      await server.close();
      await metrics.close();
      await core.close();
      await Promise.all(pods.map((p) => p.close()));
    },
  };
}

/** The Go harness's request (`ReqLLM`): headers, then `{"prompt","max_tokens","temperature","model"}`. */
export function reqLLM(prompt: string, model: string, target: string): { headers: Record<string, string>; body: string } {
  return {
    headers: {
      hi: 'mom',
      'x-request-id': 'test-request-id',
      'x-gateway-inference-objective': model,
      ...(target !== '' ? { 'x-gateway-model-name-rewrite': target } : {}),
    },
    body: JSON.stringify({ prompt, max_tokens: 100, temperature: 0, model }),
  };
}
