/**
 * Faults around the picker in both modes: pods whose metrics hang (all of them), a pod that dies
 * mid-stream behind Envoy, and a Switchboard restart while Envoy holds open ext_proc streams.
 * What the client (through Envoy or the proxy) sees is asserted, and what Switchboard records.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startExtProc } from '../../harness/index.js';
import type { ExtProcServer } from '../../src/frontends/extproc/server.js';
import { EnvoyExtProcClient } from '../support/envoy-client.js';
import { upstreamOf } from '../support/extproc-harness.js';
import { routeAll } from '../support/scripted-director.js';
import { startTwoDoors, type TwoDoors } from '../support/two-doors.js';

let td: TwoDoors | null = null;
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  await td?.close();
  td = null;
});

const BODY = JSON.stringify({ model: 'base-model', prompt: 'fault tolerant' });
const JSON_HEADERS = { 'content-type': 'application/json' };

describe('metrics faults', () => {
  it('all pods stale (every metrics endpoint hangs): both doors keep routing on the last known state', async () => {
    td = await startTwoDoors({ pods: 2, stalenessMs: 200, scrape: { intervalMs: 20, timeoutMs: 150 } });
    const core = td.core;
    // Every /metrics now hangs; inference still works. The pods' listeners stay the same.
    for (const pod of td.pods) {
      const p = pod as unknown as { metrics(res: unknown): void };
      p.metrics = () => undefined;
    }
    await vi.waitFor(async () => expect(await td!.metric('switchboard_metrics_scrapes_total', { outcome: 'timeout' })).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    await vi.waitFor(() => expect(core.pool.endpoints().every((e) => !core.pool.isFresh(e.slot, core.pool.clock.now(), 200))).toBe(true), { timeout: 3000 });
    expect(await td.metric('inference_pool_ready_pods')).toBe(0);
    // Stale everywhere is not "no endpoints": requests are spread over the stale pods, not refused.
    for (let i = 0; i < 4; i++) {
      const p = await request(`${td.proxyUrl}/v1/completions`, { method: 'POST', headers: JSON_HEADERS, body: BODY });
      expect(p.statusCode).toBe(200);
      await p.body.text();
      const e = await td.emulator.send({ path: '/v1/completions', headers: JSON_HEADERS, body: BODY });
      expect(e.status).toBe(200);
    }
  });
});

describe('pods that die behind Envoy', () => {
  it('a pod dying mid-stream: the client sees the reset, the accounting is released, the dead pod is avoided', async () => {
    td = await startTwoDoors({ pods: 2, pod: { chunks: 6, chunkDelayMs: 10 }, stalenessMs: 200, scrape: { intervalMs: 20, timeoutMs: 150 } });
    const [a, b] = td.pods;
    a.waiting = 0;
    b.waiting = 30; // pod a is the better pick
    await vi.waitFor(() => expect(td!.core.pool.waiting[td!.core.pool.endpoints()[1].slot]).toBe(30));
    a.crashAfterChunks = 2; // the next stream on pod a crashes the pod: listener closed, port refused
    const broken = await td.emulator.send({ path: '/v1/completions', headers: JSON_HEADERS, body: JSON.stringify({ model: 'base-model', prompt: 'x', stream: true }) });
    expect(broken).toMatchObject({ status: 200, broken: true, endpoint: a.key });
    expect(broken.body.toString().split('data: ').length - 1).toBe(2);
    // The reset ext_proc stream ended the request's accounting: nothing stays in flight on pod a.
    await vi.waitFor(() => expect(td!.core.pool.inflight[td!.core.pool.endpoints()[0].slot]).toBe(0));
    // Pod a's metrics now fail: once stale it is no longer picked, although it looked best.
    await vi.waitFor(() => expect(td!.core.pool.endpoints()[0].health.ok).toBe(false), { timeout: 3000 });
    await new Promise((r) => setTimeout(r, 250));
    for (let i = 0; i < 3; i++) {
      const ok = await td.emulator.send({ path: '/v1/completions', headers: JSON_HEADERS, body: BODY });
      expect(ok).toMatchObject({ status: 200, endpoint: b.key });
    }
  });
});

describe('Switchboard restarts while Envoy holds streams', () => {
  async function server(port: number): Promise<ExtProcServer> {
    return startExtProc(routeAll('10.0.0.1:8000'), { port, healthPort: null, registry: new Registry() });
  }

  it('a crash: every open stream fails (Envoy answers 500, or continues unprocessed when fail-open); the restarted server serves the same connection', async () => {
    const first = await server(0);
    const port = first.port;
    const envoy = new EnvoyExtProcClient({ address: `127.0.0.1:${port}`, waitLimitMs: 5000 });
    cleanup.push(() => envoy.close());
    // One stream waiting for its upstream answer, one mid-body.
    const routed = envoy.open();
    upstreamOf(await routed.sendRequest({ body: BODY }));
    const midBody = envoy.open();
    midBody.send({ requestHeaders: { headers: { headers: [{ key: ':path', rawValue: Buffer.from('/v1/completions') }] } } });
    midBody.send({ requestBody: { body: Buffer.from('{"model":'), endOfStream: false } });
    await new Promise((r) => setTimeout(r, 50));
    await first.close(); // like kill -9: no drain
    const seen = await Promise.all([routed.next(), midBody.next()]);
    for (const s of seen) {
      expect(s.kind).toBe('end');
      // UNAVAILABLE or CANCELLED depending on timing; an Envoy with failure_mode_allow=false
      // turns either into a 500 local reply; with it, only streams whose body was not yet sent continue.
      expect([GrpcStatus.UNAVAILABLE, GrpcStatus.CANCELLED, GrpcStatus.INTERNAL]).toContain(s.kind === 'end' ? s.code : -1);
    }
    const during = await envoy.request({ body: BODY });
    expect(during).toMatchObject({ kind: 'local-reply', status: 500, grpcCode: GrpcStatus.UNAVAILABLE });
    const second = await server(port);
    cleanup.push(() => second.close());
    await vi.waitFor(async () => upstreamOf(await envoy.request({ body: BODY })), { timeout: 10_000, interval: 200 });
  });

  it('a graceful restart (drain): the open stream finishes, new streams are refused until the new server listens', async () => {
    const first = await server(0);
    const port = first.port;
    const envoy = new EnvoyExtProcClient({ address: `127.0.0.1:${port}`, waitLimitMs: 5000 });
    cleanup.push(() => envoy.close());
    const open = envoy.open();
    upstreamOf(await open.sendRequest({ body: BODY }));
    const draining = first.drain(5000);
    const refused = await envoy.request({ body: BODY });
    expect(refused).toMatchObject({ kind: 'local-reply', status: 500, grpcCode: GrpcStatus.UNAVAILABLE });
    const res = await open.sendResponse({ headers: { 'content-type': 'text/event-stream' }, chunks: ['data: [DONE]\n\n'] });
    expect(res.kind).toBe('downstream');
    open.end();
    await draining;
    const second = await server(port);
    cleanup.push(() => second.close());
    await vi.waitFor(async () => upstreamOf(await envoy.request({ body: BODY })), { timeout: 10_000, interval: 200 });
  });
});
