/**
 * Several pools through both front doors, end to end on loopback: `switchboard serve` with a
 * `pools:` config (a file-discovered vLLM pool preferred, a static JetStream pool behind it),
 * simulated pods scraped for real, the OpenAI client on the proxy and an Envoy emulator on
 * ext_proc (ORIGINAL_DST: the picked `ip:port` of either pool). The preferred pool disappears
 * (its discovery file empties, then all its endpoints fail) and returns; traffic moves on the
 * first failed scrape or discovery change, and comes back ramped.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseFlags } from '../../src/cli/flags.js';
import { SERVE_FLAGS } from '../../src/cli/serve-flags.js';
import { startServe, stopAll, type Closable, type Started } from '../../src/cli/serve.js';
import { parseConfig } from '../../src/config/load.js';
import { startSimFleet, type SimFleet } from '../../src/sim/pod/fleet.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { EnvoyExtProcClient } from '../support/envoy-client.js';
import { EnvoyEmulator } from '../support/envoy-emulator.js';

const logger = createLogger('silent');
let dir: string;
let gpu: SimFleet;
let tpu: SimFleet;
let started: Started;
let openai: OpenAI;
let envoy: EnvoyExtProcClient;
let emulator: EnvoyEmulator;
const poolFile = () => join(dir, 'l4.yaml');
const writePool = (ports: number[]) => writeFileSync(poolFile(), `endpoints:\n${ports.map((p) => `- 127.0.0.1:${p}\n`).join('')}` + (ports.length === 0 ? '  []\n' : ''));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-pools-'));
  [gpu, tpu] = await Promise.all([
    startSimFleet({ pods: 2, modelName: 'llama' }),
    startSimFleet({ pods: 1, modelName: 'llama', engineType: 'jetstream', profile: 'llama-3-8b-tpu-v5e-8' }),
  ]);
  writePool(gpu.pods.map((p) => p.port));
  // The detector's own staleness window is 200 ms by default: on a loaded test machine a late
  // scrape would read as saturation and spill. Outages here are failed scrapes and discovery.
  const config = parseConfig(`
plugins:
- type: utilization-detector
  parameters: { metricsStalenessThreshold: 5s }
saturationDetector: { pluginRef: utilization-detector }
pools:
- name: l4
  endpointsFile: ${poolFile()}
  attributes: { accelerator: nvidia-l4, costRank: 0 }
- name: tpu
  endpoints: ["127.0.0.1:${tpu.pods[0].port}"]
  modelServerType: jetstream
  attributes: { accelerator: tpu-v5e, costRank: 1 }
spillover:
  rampUp: 600ms
`);
  const flags = parseFlags(SERVE_FLAGS, ['--grpc-port=0', '--grpc-health-port=0', '--proxy-port=0', '--metrics-port=0', '--bind-address=127.0.0.1', '--refresh-metrics-interval=20ms', '--scrape-timeout=5s', '--metrics-staleness-threshold=5s', '--secure-serving=false']);
  started = await startServe(flags, config, logger);
  openai = new OpenAI({ baseURL: `${started.proxyUrl}/v1`, apiKey: 'none', maxRetries: 0 });
  envoy = new EnvoyExtProcClient({ address: `127.0.0.1:${started.grpcPort}`, waitLimitMs: 5000 });
  emulator = new EnvoyEmulator(envoy);
});

afterAll(async () => {
  await emulator?.close();
  envoy?.close();
  if (started !== undefined) await stopAll(started.closables as Closable[], logger);
  await Promise.all([gpu?.close(), tpu?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

type Door = 'proxy' | 'extproc';
const poolOf = (endpoint: string | null | undefined): string => {
  const port = Number(endpoint?.split(':').pop());
  return gpu.pods.some((p) => p.port === port) ? 'l4' : tpu.pods.some((p) => p.port === port) ? 'tpu' : `unknown ${endpoint}`;
};

/** One completion through `door`; returns the pool that served it. */
async function send(door: Door): Promise<string> {
  if (door === 'proxy') {
    const { response } = await openai.completions.create({ model: 'llama', prompt: 'hello pools', max_tokens: 2 }).withResponse();
    return poolOf(response.headers.get('x-gateway-destination-endpoint-served'));
  }
  const res = await emulator.send({ path: '/v1/completions', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'llama', prompt: 'hello pools', max_tokens: 2 }) });
  expect([res.status, res.source, res.body.toString().slice(0, 200)]).toEqual([200, "upstream", expect.any(String)]);
  return poolOf(res.endpoint);
}

async function count(door: Door, n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const p = await send(door);
    out[p] = (out[p] ?? 0) + 1;
  }
  return out;
}

const l4Endpoints = () => started.pools!.member('l4')!.core.pool.endpoints();
const scrapedOk = () => started.pools!.members.every((m) => m.core.pool.size > 0 && m.core.pool.endpoints().every((e) => e.health.ok));

describe('two pools behind both front doors', () => {
  it('serves from the preferred pool, spills when it disappears or fails, and ramps back when it returns', async () => {
    await vi.waitFor(() => expect(scrapedOk()).toBe(true), { timeout: 5000 });
    for (const door of ['proxy', 'extproc'] as const) expect(await count(door, 4)).toEqual({ l4: 4 });

    // Discovery gone: the pool's file lists nothing; the reload empties the pool and traffic moves.
    writePool([]);
    await vi.waitFor(() => expect(l4Endpoints()).toHaveLength(0), { timeout: 5000 });
    for (const door of ['proxy', 'extproc'] as const) expect(await count(door, 3)).toEqual({ tpu: 3 });

    // Back: the endpoints return (scraped before they take work) and the pool ramps back in.
    writePool(gpu.pods.map((p) => p.port));
    await vi.waitFor(() => expect(scrapedOk()).toBe(true), { timeout: 5000 });
    const early = await count('proxy', 6);
    expect(early.tpu ?? 0).toBeGreaterThan(0); // not the whole load at once
    await vi.waitFor(async () => expect(await count('extproc', 3)).toEqual({ l4: 3 }), { timeout: 8000, interval: 100 });

    // All endpoints failing: /metrics answers 500 and requests fail; the first failed scrape moves traffic.
    for (const p of gpu.pods) p.pod.setFaults({ metricsFailRate: 1, errorRate: 1 });
    await vi.waitFor(() => expect(l4Endpoints().every((e) => !e.health.ok)).toBe(true), { timeout: 5000 });
    for (const door of ['proxy', 'extproc'] as const) expect(await count(door, 3)).toEqual({ tpu: 3 });

    for (const p of gpu.pods) p.pod.setFaults({ metricsFailRate: 0, errorRate: 0 });
    await vi.waitFor(async () => expect(await count('proxy', 2)).toEqual({ l4: 2 }), { timeout: 8000, interval: 100 });

    const metrics = await (await fetch(`http://127.0.0.1:${started.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^switchboard_pool_spills_total\{name="l4",to="tpu",reason="no_endpoints",objective="default"\} [1-9]/m);
    expect(metrics).toMatch(/^switchboard_pool_spills_total\{name="l4",to="tpu",reason="unhealthy",objective="default"\} [1-9]/m);
    expect(metrics).toMatch(/^switchboard_pool_spills_total\{name="l4",to="tpu",reason="ramp",objective="default"\} [1-9]/m);
    expect(metrics).toMatch(/^inference_pool_ready_pods\{name="tpu"\} 1$/m);
    expect(metrics).toMatch(/^switchboard_pool_info\{name="tpu",region="",accelerator="tpu-v5e",cost_rank="1"\} 1$/m);
  });

  it('explains the pool choice in the proxy explanation header', async () => {
    const res = await fetch(`${started.proxyUrl}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-switchboard-debug': 'explain' },
      body: JSON.stringify({ model: 'llama', prompt: 'why here', max_tokens: 2 }),
    });
    await res.text();
    const explanation = JSON.parse(res.headers.get('x-switchboard-explanation') ?? '{}');
    expect(explanation.pool.preferred).toBe('l4');
    // Fully back, or still ramping back after the previous test's outage.
    expect([null, 'ramp']).toContain(explanation.pool.spillReason);
    expect(explanation.pool.pool).toBe(explanation.pool.spillReason === null ? 'l4' : 'tpu');
    expect(explanation.pool.pools.map((p: { name: string }) => p.name)).toEqual(['l4', 'tpu']);
  });
});
