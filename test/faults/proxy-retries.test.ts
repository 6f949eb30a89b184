/**
 * Proxy mode under pod faults: no request whose response had not started reaching its client is
 * lost while a healthy pod exists. The failing pods look like the best picks (idle metrics) and
 * the healthy pod looks busy, so the scheduler sends requests into the faults first: refused
 * connections, 500 and 503 answers, connections reset before the headers, and a pod that sends
 * its headers and then hangs. Clients are the official openai SDK with its own retries off.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { APIError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startCore, startProxy } from '../../harness/index.js';
import type { ProxyServer } from '../../src/frontends/proxy/index.js';
import { startSimFleet, type SimFleet } from '../../src/sim/pod/fleet.js';
import type { Switchboard } from '../../src/switchboard.js';
import { registryValue } from '../support/extproc-harness.js';
import { vllmPage } from '../support/metrics-server.js';
import { seeded } from '../support/pool.js';
import { VllmPod } from '../support/vllm-pod.js';

type Fault = 'refuse' | 'status500' | 'status503' | 'reset' | 'hang-after-headers';

/** A pod that fails every inference request in one way while its /metrics looks idle and healthy. */
class FaultPod {
  requests = 0;
  private server: Server | null = null;
  private metricsServer: Server | null = null;
  port = 0;
  metricsPort = 0;
  private readonly hanging = new Set<ServerResponse>();

  constructor(readonly fault: Fault) {}

  async start(): Promise<this> {
    const listen = async (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> => {
      const s = createServer(handler);
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      return s;
    };
    // Metrics on their own port, so a pod whose inference port refuses still looks alive.
    this.metricsServer = await listen((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(vllmPage({ waiting: 0, kv: 0 })));
    this.metricsPort = (this.metricsServer.address() as AddressInfo).port;
    this.server = await listen((req, res) => this.handle(req, res));
    this.port = (this.server.address() as AddressInfo).port;
    if (this.fault === 'refuse') await this.stopInference();
    return this;
  }

  get spec() {
    return { address: '127.0.0.1', port: this.port, metricsPort: this.metricsPort, name: `fault-${this.fault}` };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    req.on('end', () => {
      this.requests++;
      switch (this.fault) {
        case 'status500':
        case 'status503': {
          const status = this.fault === 'status500' ? 500 : 503;
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `injected ${status}`, code: status } }));
          return;
        }
        case 'reset':
          req.socket.destroy();
          return;
        case 'hang-after-headers':
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.flushHeaders();
          this.hanging.add(res);
          return;
      }
    });
  }

  private async stopInference(): Promise<void> {
    const s = this.server!;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
    this.server = null;
  }

  async close(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    if (this.server !== null) await this.stopInference();
    this.metricsServer!.closeAllConnections();
    await new Promise<void>((r) => this.metricsServer!.close(() => r()));
  }
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function proxyFor(endpoints: Array<{ address: string; port: number; metricsPort?: number; name?: string }>, retries: number): Promise<{ core: Switchboard; proxy: ProxyServer; client: OpenAI }> {
  const core = await startCore({
    endpoints,
    rng: seeded(11),
    stalenessMs: 60_000,
    collector: { intervalMs: 20, timeoutMs: 500 },
  });
  cleanup.push(() => core.close());
  const proxy = await startProxy(core.director, core.pool, {
    registry: core.telemetry!.registry,
    settings: { retries: { max: retries, repick: true }, timeouts: { idleStreamMs: 300, firstByteMs: 2000 } },
  });
  cleanup.push(() => proxy.close());
  const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20_000 });
  return { core, proxy, client };
}

function counter(core: Switchboard, name: string, labels: Record<string, string> = {}): Promise<number> {
  return registryValue(core.telemetry!.registry, name, labels);
}

describe('proxy: requests that never started streaming are never lost', () => {
  it('every request succeeds on the healthy pod although every other pod fails it in a different way', async () => {
    const faults = await Promise.all((['refuse', 'status500', 'status503', 'reset', 'hang-after-headers'] as const).map((f) => new FaultPod(f).start()));
    for (const f of faults) cleanup.push(() => f.close());
    const healthy = await new VllmPod({ address: '127.0.0.1', chunks: 4 }).start();
    cleanup.push(() => healthy.stop());
    healthy.waiting = 50; // looks like the worst pick
    const { core, client } = await proxyFor([...faults.map((f) => f.spec), healthy.spec], faults.length);

    const N = 30;
    const results = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        if (i % 2 === 0) {
          const r = await client.completions.create({ model: 'base-model', prompt: `request ${i}`, max_tokens: 4 }).withResponse();
          return { text: r.data.choices[0].text, served: r.response.headers.get('x-gateway-destination-endpoint-served') };
        }
        const stream = await client.chat.completions.create({ model: 'base-model', messages: [{ role: 'user', content: `request ${i}` }], stream: true }).withResponse();
        let text = '';
        for await (const chunk of stream.data) text += chunk.choices[0]?.delta?.content ?? '';
        return { text, served: stream.response.headers.get('x-gateway-destination-endpoint-served') };
      }),
    );
    expect(results.every((r) => r.served === healthy.key && r.text.includes('hello'))).toBe(true);
    // Each kind of fault was hit and retried, not passed to a client.
    for (const f of faults.filter((x) => x.fault !== 'refuse')) expect(f.requests, f.fault).toBeGreaterThan(0);
    expect(await counter(core, 'switchboard_proxy_upstream_failures_total', { reason: 'connect' })).toBeGreaterThan(0);
    expect(await counter(core, 'switchboard_proxy_upstream_failures_total', { reason: 'status_5xx' })).toBeGreaterThan(0);
    expect(await counter(core, 'switchboard_proxy_upstream_failures_total', { reason: 'reset' })).toBeGreaterThan(0);
    expect(await counter(core, 'switchboard_proxy_upstream_failures_total', { reason: 'idle_timeout' })).toBeGreaterThan(0);
    expect(await counter(core, 'switchboard_proxy_retries_total')).toBeGreaterThan(0);
    expect(await counter(core, 'switchboard_proxy_errors_total')).toBe(0);
    // Every attempt's accounting ended: nothing is left in flight.
    expect(core.pool.endpoints().reduce((a, e) => a + core.pool.inflight[e.slot], 0)).toBe(0);
  });

  it('with random faults on all but one simulated pod, 60 requests all succeed', async () => {
    const fleet: SimFleet = await startSimFleet({
      pods: 3,
      seed: 3,
      streamChunkTokens: 4,
      // pod 0 is healthy; pods 1 and 2 answer 500/503 or drop the connection before answering.
      faults: (i) => (i === 0 ? {} : { errorRate: 0.4, errorStatus: i === 1 ? 500 : 503, dropRate: 0.4 }),
    });
    cleanup.push(() => fleet.close());
    const { core, client } = await proxyFor(
      fleet.pods.map((p) => ({ address: p.address, port: p.port, name: `sim-${p.index}` })),
      2,
    );
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        try {
          const r = await client.completions.create({ model: fleet.modelName, prompt: `load ${i} `.repeat(8), max_tokens: 8 });
          return r.choices[0].text.length > 0 ? 'ok' : 'empty';
        } catch (err) {
          return err instanceof APIError ? `HTTP ${err.status}: ${err.message}` : String(err);
        }
      }),
    );
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    const injected = fleet.pods.slice(1).reduce((a, p) => a + (p.pod.rejected.get('injected_error') ?? 0), 0);
    expect(injected).toBeGreaterThan(0);
    expect(await counter(core, 'switchboard_proxy_retries_total')).toBeGreaterThanOrEqual(injected);
  });

  it('a stream that already reached its client ends with a clean error event when its pod dies', async () => {
    const dying = await new VllmPod({ address: '127.0.0.1', chunks: 6, chunkDelayMs: 10 }).start();
    cleanup.push(() => dying.stop());
    dying.dieAfterChunks = 2;
    const { core, client } = await proxyFor([dying.spec], 2);
    const stream = await client.completions.create({ model: 'base-model', prompt: 'x', stream: true });
    let chunks = 0;
    const err = await (async () => {
      try {
        for await (const _ of stream) chunks++;
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(chunks).toBe(2);
    expect(err?.message).toMatch(/upstream .* broke off the response/);
    expect(await counter(core, 'switchboard_proxy_errors_total', { code: 'SB_ERR_UPSTREAM_BROKEN' })).toBe(1);
    expect(dying.stats.requests).toBe(1); // not retried: the client already had part of the answer
  });
});
