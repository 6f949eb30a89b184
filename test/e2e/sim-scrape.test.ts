/**
 * The core's real scrape path (MetricsCollector + engine mappings + parser) reads the simulated
 * pods' /metrics exactly as it would read vLLM's.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsCollector } from '../../src/datalayer/collector.js';
import { EngineRegistry } from '../../src/datalayer/engines.js';
import { ENGINE_TYPE_LABEL } from '../../src/pool/endpoint.js';
import { EndpointPool } from '../../src/pool/pool.js';
import { synthText } from '../../src/workload/tokenizer.js';
import { startSimFleet, type SimFleet } from '../../src/sim/pod/fleet.js';

let fleet: SimFleet;
let pool: EndpointPool;
let collector: MetricsCollector;

beforeAll(async () => {
  fleet = await startSimFleet({
    pods: 2,
    engine: { numGpuBlocks: 2000, maxLoras: 2 },
    modelName: 'sim',
    loraModules: [{ name: 'sql-lora' }],
  });
  pool = new EndpointPool();
  pool.setEndpoints(fleet.pods.map((p) => ({ address: p.address, port: p.port })));
  collector = new MetricsCollector(pool, new EngineRegistry([], 'vllm', ENGINE_TYPE_LABEL), { intervalMs: 1_000_000 });
});

afterAll(async () => {
  await collector.stop();
  await fleet.close();
});

describe('core scrape path against simulated pods', () => {
  it('reads queue, running, KV usage, LoRA and cache config from a busy pod', async () => {
    const pod = fleet.pods[0];
    const ep = pool.get(`${pod.address}:${pod.port}`)!;
    const client = new OpenAI({ baseURL: `${pod.url}/v1`, apiKey: 'none', maxRetries: 0 });
    const pending = client.completions.create({ model: 'sql-lora', prompt: synthText(3, 400), max_tokens: 100 });
    // Wait (bounded) until the pod's engine runs the request, then scrape.
    for (let i = 0; i < 500 && pod.pod.engine.running.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(pod.pod.engine.running.length).toBe(1);
    await collector.scrapeOnce(ep);
    expect(ep.health.ok).toBe(true);
    const m = ep.metrics!;
    expect(m.runningRequests).toBe(1);
    expect(m.waitingQueueSize).toBe(0);
    expect(m.kvCacheUsage).toBeCloseTo(pod.pod.engine.pool.usage(), 2);
    expect(m.kvCacheUsage).toBeGreaterThan(0);
    expect([...m.activeAdapters]).toEqual(['sql-lora']);
    expect(m.maxAdapters).toBe(2);
    expect(m.cacheBlockSize).toBe(16);
    expect(m.cacheNumBlocks).toBe(2000);
    await pending;
    await collector.scrapeOnce(ep);
    expect(ep.metrics?.runningRequests).toBe(0);
    // vLLM keeps old lora_requests_info series; the newest (largest timestamp) wins.
    expect(ep.metrics?.activeAdapters.size).toBe(0);
  });

  it('records a failing metrics endpoint as a scrape failure', async () => {
    const pod = fleet.pods[1];
    const ep = pool.get(`${pod.address}:${pod.port}`)!;
    pod.pod.setFaults({ metricsFailRate: 1 });
    try {
      await collector.scrapeOnce(ep);
      expect(ep.health.ok).toBe(false);
      expect(ep.health.consecutiveFailures).toBeGreaterThan(0);
    } finally {
      pod.pod.setFaults({ metricsFailRate: 0 });
    }
    await collector.scrapeOnce(ep);
    expect(ep.health.ok).toBe(true);
  });
});
