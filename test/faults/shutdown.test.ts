/**
 * SIGTERM during load, against `switchboard serve` as a real process: readiness turns
 * NOT_SERVING first, new work is refused on both doors, requests in flight finish, a stream that
 * would never finish is cut at the grace deadline, and the process exits 0 soon after.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ServingStatus } from '../../src/frontends/health/health-codec.js';
import { EnvoyExtProcClient } from '../support/envoy-client.js';
import { upstreamOf } from '../support/extproc-harness.js';
import { grpcHealth, watchHealth } from '../support/health-probe.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { VllmPod } from '../support/vllm-pod.js';

let proc: ServeProcess | null = null;
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  proc?.kill();
  proc = null;
  for (const c of cleanup.splice(0).reverse()) await c();
});

const BODY = JSON.stringify({ model: 'base-model', prompt: 'drain me', stream: true });

describe('SIGTERM during load', () => {
  it('readiness first, new work refused, in-flight work finishes, a stuck stream is cut at the deadline, exit 0', async () => {
    // 12 chunks 60 ms apart: the proxied stream is still running when SIGTERM arrives.
    const pod = await new VllmPod({ address: '127.0.0.1', chunks: 12, chunkDelayMs: 60 }).start();
    cleanup.push(() => pod.stop());
    const GRACE_MS = 2500;
    proc = await startServeProcess([`--endpoints=127.0.0.1:${pod.port}`, '--secure-serving=false', '--refresh-metrics-interval=50ms', `--shutdown-grace-period=${GRACE_MS}ms`, '--proxy-drain-timeout=5s']);
    const p = proc;
    await expect.poll(() => grpcHealth(p.healthPort), { timeout: 10_000 }).toBe(ServingStatus.SERVING);
    const envoy = new EnvoyExtProcClient({ address: `127.0.0.1:${p.grpcPort}`, waitLimitMs: 10_000 });
    cleanup.push(() => envoy.close());

    // In flight: a proxied stream, an ext_proc exchange that will finish, one that never will.
    const proxied = request(`${p.proxyUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY }).then(async (r) => ({
      status: r.statusCode,
      text: await r.body.text(),
    }));
    const finishing = envoy.open();
    upstreamOf(await finishing.sendRequest({ body: BODY, headers: { 'content-type': 'application/json' } }));
    const stuck = envoy.open();
    upstreamOf(await stuck.sendRequest({ body: BODY, headers: { 'content-type': 'application/json' } }));
    const watch = watchHealth(p.healthPort, 'readiness');
    cleanup.push(() => watch.close());
    await expect.poll(() => watch.statuses.length).toBe(1);
    expect(watch.statuses[0].status).toBe(ServingStatus.SERVING);
    await new Promise((r) => setTimeout(r, 150)); // the proxied stream is under way

    const sentAt = Date.now();
    p.child.kill('SIGTERM');
    // 1. Readiness goes NOT_SERVING at once (well before the process is gone).
    await expect.poll(() => watch.statuses.map((s) => s.status), { timeout: 2000 }).toContain(ServingStatus.NOT_SERVING);
    const notServingAt = watch.statuses.find((s) => s.status === ServingStatus.NOT_SERVING)!.at;
    expect(notServingAt - sentAt).toBeLessThan(1500);
    // 2. New work is refused on both doors.
    const lateProxy = await request(`${p.proxyUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY }).then(
      async (r) => ({ status: r.statusCode, text: await r.body.text() }),
      (e: Error) => ({ status: 0, text: e.message }),
    );
    expect(lateProxy.status === 503 || lateProxy.status === 0, lateProxy.text).toBe(true);
    if (lateProxy.status === 503) expect(lateProxy.text).toContain('switchboard is shutting down');
    const lateEnvoy = await envoy.request({ body: BODY });
    expect(lateEnvoy).toMatchObject({ kind: 'local-reply', status: 500, grpcCode: GrpcStatus.UNAVAILABLE });
    // 3. Work in flight finishes: the proxied stream completes, the open exchange runs its response phase.
    const done = await proxied;
    expect(done.status).toBe(200);
    expect(done.text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(done.text.split('data: ').length - 1).toBe(13);
    const res = await finishing.sendResponse({ headers: { 'content-type': 'text/event-stream' }, chunks: ['data: {"x":1}\n\n', 'data: [DONE]\n\n'] });
    expect(res.kind).toBe('downstream');
    finishing.end();
    // 4. The stuck stream is cut at the grace deadline; then the process exits 0.
    const cut = await stuck.next(GRACE_MS + 5000);
    expect(cut.kind).toBe('end');
    const cutAt = Date.now();
    expect(cutAt - sentAt).toBeGreaterThanOrEqual(GRACE_MS - 200);
    const code = await p.exited;
    expect(code).toBe(0);
    expect(Date.now() - sentAt).toBeLessThan(GRACE_MS + 4000);
    const order = p.logs.map((l) => l.msg).filter((m) => ['shutting down', 'draining: readiness NOT_SERVING, new requests refused', 'drained', 'stopped'].includes(String(m)));
    expect(order).toEqual(['shutting down', 'draining: readiness NOT_SERVING, new requests refused', 'drained', 'stopped']);
    proc = null;
  }, 60_000);
});
