import { afterEach, describe, expect, it, vi } from 'vitest';
import { MetricsCollector, type ScrapeOutcome } from '../../src/datalayer/collector.js';
import { EngineRegistry } from '../../src/datalayer/engines.js';
import { EndpointPool } from '../../src/pool/pool.js';
import { MetricsServer, vllmPage } from '../support/metrics-server.js';

const servers: MetricsServer[] = [];
const collectors: MetricsCollector[] = [];
afterEach(async () => {
  await Promise.all(collectors.splice(0).map((c) => c.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function setup(opts: Partial<ConstructorParameters<typeof MetricsCollector>[2]> = {}) {
  const server = await new MetricsServer().start();
  servers.push(server);
  const pool = new EndpointPool();
  const outcomes: ScrapeOutcome[] = [];
  const collector = new MetricsCollector(pool, new EngineRegistry(), { intervalMs: 10, timeoutMs: 200, maxBackoffMs: 200, ...opts }, (_ep, o) => outcomes.push(o));
  collectors.push(collector);
  collector.start();
  const ep = pool.upsert({ address: '127.0.0.1', port: server.port });
  return { server, pool, ep, outcomes, collector };
}

describe('metrics collection against real HTTP servers', () => {
  it('scrapes on the interval and fills the pool columns', async () => {
    const { server, pool, ep } = await setup();
    server.page = vllmPage({ waiting: 4, running: 2, kv: 0.25, maxLora: 3, running_lora: 'a,b', blockSize: 16, numBlocks: 500 });
    await vi.waitFor(() => expect(pool.waiting[ep.slot]).toBe(4), { timeout: 3000 });
    expect(pool.kvUsage[ep.slot]).toBe(0.25);
    expect(pool.cacheBlockSize[ep.slot]).toBe(16);
    expect([...ep.metrics!.activeAdapters]).toEqual(['a', 'b']);
    server.page = vllmPage({ waiting: 7 });
    await vi.waitFor(() => expect(pool.waiting[ep.slot]).toBe(7), { timeout: 3000 });
    expect(ep.health.ok).toBe(true);
  });

  it('never overlaps scrapes of one endpoint, even when the server is slower than the interval', async () => {
    const { server } = await setup({ intervalMs: 1 });
    server.behaviour = (_req, res) => setTimeout(() => res.writeHead(200).end(vllmPage({})), 15);
    await vi.waitFor(() => expect(server.requests).toBeGreaterThan(8), { timeout: 3000 });
    expect(server.maxActive).toBe(1);
  });

  it('records HTTP failures and backs off while they last, then recovers (flapping)', async () => {
    const { server, ep, outcomes, pool } = await setup({ intervalMs: 5, maxBackoffMs: 80 });
    await vi.waitFor(() => expect(ep.health.ok).toBe(true), { timeout: 3000 });
    server.behaviour = (_req, res) => res.writeHead(503).end('busy');
    await vi.waitFor(() => expect(ep.health.consecutiveFailures).toBeGreaterThanOrEqual(3), { timeout: 3000 });
    expect(ep.health.lastError).toMatch(/HTTP 503/);
    const before = server.requests;
    await new Promise((r) => setTimeout(r, 300));
    // With backoff capped at 80 ms, 300 ms hold at most a handful of attempts (5 ms polling would be ~60).
    expect(server.requests - before).toBeLessThan(10);
    server.behaviour = null;
    server.page = vllmPage({ waiting: 1 });
    await vi.waitFor(() => expect(pool.waiting[ep.slot]).toBe(1), { timeout: 3000 });
    expect(ep.health.consecutiveFailures).toBe(0);
    expect(outcomes).toContain('http_error');
  });

  it('times out a hanging server and a never-ending page', async () => {
    const { server, ep, outcomes } = await setup({ timeoutMs: 50 });
    server.behaviour = () => {}; // never answers
    await vi.waitFor(() => expect(outcomes).toContain('timeout'), { timeout: 3000 });
    expect(ep.health.lastError).toMatch(/timed out/);
    server.behaviour = (_req, res) => {
      res.writeHead(200);
      const t = setInterval(() => res.write('# still going\n'), 5);
      res.on('close', () => clearInterval(t));
    };
    const n = outcomes.filter((o) => o === 'timeout').length;
    await vi.waitFor(() => expect(outcomes.filter((o) => o === 'timeout').length).toBeGreaterThan(n), { timeout: 3000 });
  });

  it('refuses pages over the size limit, declared or streamed', async () => {
    const { server, outcomes } = await setup({ maxPageBytes: 1000 });
    server.behaviour = (_req, res) => res.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000));
    await vi.waitFor(() => expect(outcomes).toContain('too_large'), { timeout: 3000 });
    outcomes.length = 0;
    server.behaviour = (_req, res) => {
      res.writeHead(200);
      res.write('# '.repeat(600));
      res.end('# '.repeat(600));
    };
    await vi.waitFor(() => expect(outcomes).toContain('too_large'), { timeout: 3000 });
  });

  it('reports pages without the engine metrics as parse errors', async () => {
    const { server, ep, outcomes } = await setup();
    server.page = 'something_else 1\n';
    await vi.waitFor(() => expect(outcomes).toContain('parse_error'), { timeout: 3000 });
    expect(ep.health.lastError).toMatch(/vllm:num_requests_waiting not found/);
    expect(ep.metrics).toBeNull();
  });

  it('reports refused connections and stops scraping endpoints that leave the pool', async () => {
    const { server, pool, ep, outcomes } = await setup();
    await vi.waitFor(() => expect(ep.health.ok).toBe(true), { timeout: 3000 });
    pool.remove(ep.key);
    await new Promise((r) => setTimeout(r, 30));
    const n = server.requests;
    await new Promise((r) => setTimeout(r, 100));
    expect(server.requests).toBe(n);
    const dead = pool.upsert({ address: '127.0.0.1', port: 1 });
    await vi.waitFor(() => expect(outcomes).toContain('connect_error'), { timeout: 3000 });
    expect(dead.health.ok).toBe(false);
  });
});
