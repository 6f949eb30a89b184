/**
 * `switchboard serve` end to end, in process: flags and config as a user gives them, scrape loops
 * against real metrics servers, the Prometheus endpoint over HTTP.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseFlags } from '../../src/cli/flags.js';
import { SERVE_FLAGS } from '../../src/cli/serve-flags.js';
import { startServe, stopAll, type Closable } from '../../src/cli/serve.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { MetricsServer, vllmPage } from '../support/metrics-server.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('switchboard serve', () => {
  it('scrapes static endpoints, schedules on their metrics, and exports the Go EPP metric names', async () => {
    const pods = await Promise.all([new MetricsServer().start(), new MetricsServer().start()]);
    for (const p of pods) cleanup.push(() => p.close());
    pods[0].page = vllmPage({ waiting: 9, kv: 0.9 });
    pods[1].page = vllmPage({ waiting: 0, kv: 0.1 });
    const flags = parseFlags(SERVE_FLAGS, [
      `--endpoints=127.0.0.1:${pods[0].port},127.0.0.1:${pods[1].port}`,
      '--metrics-port', '0',
      '--grpc-port=-1',
      '--bind-address=127.0.0.1',
      '--refresh-metrics-interval=10ms',
      '--pool-name=test-pool',
    ]);
    const logger = createLogger('silent');
    const { core, closables, metricsPort } = await startServe(flags, defaultConfig(), logger);
    cleanup.push(() => stopAll(closables as Closable[], logger));
    const second = core.pool.endpoints()[1];
    await vi.waitFor(() => expect(core.pool.waiting[core.pool.endpoints()[0].slot]).toBe(9), { timeout: 5000 });
    await vi.waitFor(() => expect(second.health.ok).toBe(true), { timeout: 5000 });
    const d = await core.director.handleRequest({
      requestId: 'r1',
      path: '/v1/completions',
      headers: { get: () => undefined },
      body: Buffer.from('{"model":"m","prompt":"hello"}'),
      subset: null,
    });
    expect(d.kind === 'route' && d.destination).toBe(`127.0.0.1:${pods[1].port}`);
    if (d.kind === 'route') d.lifecycle.finish('ok');

    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('inference_pool_ready_pods{name="test-pool"} 2');
    expect(text).toContain('inference_pool_average_queue_size{name="test-pool"} 4.5');
    expect(text).toContain('inference_objective_request_total{model_name="m",target_model_name="m",priority="0"} 1');
    expect(text).toMatch(/inference_extension_scheduler_e2e_duration_seconds_count 1/);
    expect(text).toMatch(/inference_extension_plugin_duration_seconds_count\{extension_point="Scorer",plugin_type="queue-scorer",plugin_name="queue-scorer"\} 1/);
    expect(text).toMatch(/switchboard_metrics_scrapes_total\{outcome="success"\} \d+/);
    expect(text).toContain('inference_extension_info{commit=');
    expect((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status).toBe(404);
  });
});
