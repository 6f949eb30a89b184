/**
 * Hostile model-server metrics pages, scraped by the real collector over real HTTP while both
 * front doors serve traffic: truncated, gigantic, never-ending, binary, mistyped, NaN/Inf, a page
 * that speaks for another pod. Each case: the scrape is refused with its outcome counted and a
 * clear reason on the endpoint, the pod's last good numbers go stale (so it is not preferred),
 * requests keep being served, and nothing leaks into another endpoint's state.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ServingStatus } from '../../src/frontends/health/health-codec.js';
import { grpcHealth } from '../support/health-probe.js';
import { MetricsServer, vllmPage, type MetricsBehaviour } from '../support/metrics-server.js';
import { startTwoDoors, type TwoDoors } from '../support/two-doors.js';

let td: TwoDoors;
let bad: MetricsServer;

beforeAll(async () => {
  bad = await new MetricsServer().start();
  // pod-1 answers inference itself but its metrics come from `bad`, which each case corrupts.
  td = await startTwoDoors({
    pods: 2,
    pod: { model: 'base-model', adapters: ['sql-lora'], chunks: 3 },
    endpoint: (i) => (i === 1 ? { metricsPort: bad.port } : {}),
    stalenessMs: 300,
    scrape: { intervalMs: 20, timeoutMs: 400 },
  });
});
afterAll(async () => {
  await td?.close();
  await bad?.close();
});

const badEndpoint = () => td.core.pool.endpoints()[1];
const goodEndpoint = () => td.core.pool.endpoints()[0];

beforeEach(async () => {
  bad.behaviour = null;
  bad.page = vllmPage({ waiting: 0, kv: 0.1 });
  // The pool recovers as soon as a good page is back (backoff is capped at 5 s; scrape now).
  await td.core.collector!.scrapeOnce(badEndpoint());
  await vi.waitFor(() => expect(badEndpoint().health.ok).toBe(true), { timeout: 5000 });
});

async function serveRequests(): Promise<void> {
  const body = JSON.stringify({ model: 'base-model', prompt: 'still serving' });
  const [p, e] = await Promise.all([
    request(`${td.proxyUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    td.emulator.send({ path: '/v1/completions', headers: { 'content-type': 'application/json' }, body }),
  ]);
  expect(p.statusCode).toBe(200);
  await p.body.text();
  expect(e.status).toBe(200);
}

/**
 * Applies `behaviour` (or a page) and waits until a scrape with `outcome` was recorded and the
 * endpoint's last error is `error`. Waiting for the error too matters when the previous corruption
 * had the same outcome: a scrape that began under it can still land after the switch.
 */
async function corrupt(outcome: string, setup: { page?: string; behaviour?: MetricsBehaviour }, error: RegExp | string): Promise<void> {
  const before = await td.metric('switchboard_metrics_scrapes_total', { outcome });
  if (setup.page !== undefined) bad.page = setup.page;
  if (setup.behaviour !== undefined) bad.behaviour = setup.behaviour;
  const inFlight = serveRequests();
  await vi.waitFor(async () => expect(await td.metric('switchboard_metrics_scrapes_total', { outcome })).toBeGreaterThan(before), { timeout: 5000 });
  await vi.waitFor(() => (typeof error === 'string' ? expect(badEndpoint().health.lastError).toBe(error) : expect(badEndpoint().health.lastError).toMatch(error)), { timeout: 5000 });
  await inFlight;
  expect(badEndpoint().health.ok).toBe(false);
}

async function afterwards(): Promise<void> {
  // Stale metrics: the failing pod is not preferred while a fresh one exists.
  await vi.waitFor(() => expect(td.core.pool.isFresh(badEndpoint().slot, td.core.pool.clock.now(), 300)).toBe(false), { timeout: 3000 });
  for (let i = 0; i < 3; i++) {
    const res = await request(`${td.proxyUrl}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'base-model', prompt: `after ${i}` }),
    });
    expect(res.headers['x-gateway-destination-endpoint-served']).toBe(goodEndpoint().key);
    await res.body.text();
  }
  expect(goodEndpoint().health.ok).toBe(true);
  expect(await grpcHealth(td.extproc.healthPort!)).toBe(ServingStatus.SERVING);
}

describe('hostile metrics pages', () => {
  it('a page cut mid-line: parse error naming the missing metric, counted as rejected input', async () => {
    const page = vllmPage({ waiting: 3, kv: 0.5 });
    const before = await td.metric('switchboard_rejected_input_total', { source: 'metrics_page', reason: 'parse_error' });
    await corrupt('parse_error', { page: page.slice(0, page.indexOf('vllm:num_requests_waiting{') + 20) }, /queue metric vllm:num_requests_waiting not found/);
    expect(await td.metric('switchboard_rejected_input_total', { source: 'metrics_page', reason: 'parse_error' })).toBeGreaterThan(before);
    await afterwards();
  });

  it('a connection that breaks mid-page: truncated', async () => {
    await corrupt('truncated', {
      behaviour: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
        res.write(vllmPage({}).slice(0, 50));
        setTimeout(() => res.socket?.destroy(), 5);
      },
    }, /metrics page broke off after 50 bytes/);
    await afterwards();
  });

  it('a gigantic page, declared or streamed: too large, the download is cut short', async () => {
    await corrupt('too_large', {
      behaviour: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(1 << 30) });
        res.write('# huge\n');
      },
    }, /metrics page of 1073741824 bytes exceeds/);
    const line = `vllm:num_requests_waiting{pad="${'x'.repeat(1000)}"} 1\n`;
    await corrupt('too_large', {
      behaviour: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        for (let i = 0; i < 5000 && !res.destroyed; i++) res.write(line);
        res.end();
      },
    }, /metrics page exceeds 4194304 bytes/);
    await afterwards();
  });

  it('a page that never ends: the scrape deadline cuts it off', async () => {
    await corrupt('timeout', {
      behaviour: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write('vllm:num_requests_waiting 1\n')), 10);
        res.on('close', () => clearInterval(t));
      },
    }, 'scrape timed out');
    await afterwards();
  });

  it('binary garbage: parse error', async () => {
    await corrupt('parse_error', { page: randomBytes(64 * 1024).toString('latin1') }, /not found/);
    await afterwards();
  });

  it('wrong types and non-numbers: parse error naming the line', async () => {
    await corrupt('parse_error', {
      page: '# TYPE vllm:num_requests_waiting histogram\nvllm:num_requests_waiting{engine="0"} lots\nvllm:num_requests_running 1\nvllm:kv_cache_usage_perc 0.1\n',
    }, /queue metric .* not found \(.*\)/);
    await afterwards();
  });

  it.each([
    ['NaN queue', vllmPage({ waiting: Number.NaN }), /queue size NaN is not a count/],
    ['+Inf KV usage', vllmPage({ kv: Number.POSITIVE_INFINITY }).replace('Infinity', '+Inf'), /KV-cache utilization Infinity is not a fraction/],
    ['negative running', vllmPage({ running: -4 }), /running requests -4 is not a count/],
  ])('%s: refused, the last good numbers are kept but go stale', async (_name, page, message) => {
    const waitingBefore = td.core.pool.waiting[badEndpoint().slot];
    await corrupt('parse_error', { page }, message);
    expect(td.core.pool.waiting[badEndpoint().slot]).toBe(waitingBefore);
    await afterwards();
  });

  it('an HTML error page: http error', async () => {
    await corrupt('http_error', { behaviour: (_req, res) => res.writeHead(503, { 'content-type': 'text/html' }).end('<h1>down</h1>') }, 'metrics page answered HTTP 503');
    await afterwards();
  });

  it("a pod that reports another pod's LoRA adapters changes only its own endpoint", async () => {
    const goodAdapters = [...(goodEndpoint().metrics?.activeAdapters ?? [])];
    expect(goodAdapters).toEqual(['sql-lora']);
    // pod-1's page claims series for pod-0 (say, a federated page) with adapters it does not hold.
    const lines = [
      vllmPage({ waiting: 0, kv: 0.1 }),
      `vllm:lora_requests_info{pod="pod-0",max_lora="4",running_lora_adapters="stolen-a,stolen-b",waiting_lora_adapters=""} ${Date.now() / 1000 + 100}`,
      '',
    ].join('\n');
    bad.page = lines;
    await vi.waitFor(() => expect([...(badEndpoint().metrics?.activeAdapters ?? [])]).toEqual(['stolen-a', 'stolen-b']), { timeout: 3000 });
    // Whatever pod-1 says is recorded for pod-1 only; pod-0 keeps what pod-0 reports.
    expect([...(goodEndpoint().metrics?.activeAdapters ?? [])]).toEqual(goodAdapters);
    await serveRequests();
  });
});
