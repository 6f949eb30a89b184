/**
 * `--metrics-names`: the Go EPP's metrics under GIE names, llm-d router names (`llm_d_epp_*`), or
 * both with the same values, from one recording. Checked on the telemetry module's page and on
 * the /metrics page of a real `serve`.
 */
import { Gauge, Registry } from 'prom-client';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFlags } from '../../src/cli/flags.js';
import { SERVE_FLAGS } from '../../src/cli/serve-flags.js';
import { startServe, stopAll, type Closable } from '../../src/cli/serve.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { applyMetricNames, LLM_D_NAMES, parseMetricNames, type MetricNames } from '../../src/telemetry/metric-names.js';
import { Telemetry } from '../../src/telemetry/metrics.js';
import type { Plugin } from '../../src/scheduling/framework/plugin.js';
import { makePool } from '../support/pool.js';

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** Samples of a text page: `name{sorted labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`bad line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}=${l[2]}`).sort();
    out.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return out;
}

/** The llm-d key of a GIE sample key, or null when the metric has no llm-d name. */
function toLlmd(key: string): string | null {
  const [name, rest] = [key.slice(0, key.indexOf('{')), key.slice(key.indexOf('{') + 1, -1)];
  const base = Object.keys(LLM_D_NAMES).find((b) => name === b || name === `${b}_bucket` || name === `${b}_sum` || name === `${b}_count`);
  if (base === undefined) return null;
  const t = LLM_D_NAMES[base];
  const labels = (rest === '' ? [] : rest.split(','))
    .map((l) => {
      const k = l.slice(0, l.indexOf('='));
      return `${t.rename?.[k] ?? k}${l.slice(k.length)}`;
    })
    .concat(Object.entries(t.constant ?? {}).map(([k, v]) => `${k}=${v}`))
    .sort();
  return `${t.name}${name.slice(base.length)}{${labels.join(',')}}`;
}

const plugin = { typedName: { type: 'queue-scorer', name: 'queue-scorer' } } as unknown as Plugin;

/** A Telemetry with every kind of Go EPP series recorded once. */
function recorded(metricNames?: MetricNames): Telemetry {
  const pool = makePool([{ q: 3, kv: 0.5, running: 2 }, { q: 1, kv: 0.1, running: 4 }]);
  const t = new Telemetry({ poolName: 'llm', pool, stalenessMs: 0, defaultMetrics: false, metricNames });
  t.requestStarted('m', 'm-target', 0, 1200);
  t.requestFinished({
    incomingModel: 'm',
    targetModel: 'm-target',
    priority: 0,
    errorCode: null,
    durationSeconds: 1.5,
    requestBytes: 1200,
    responseBytes: 800,
    inputTokens: 100,
    outputTokens: 20,
    cachedTokens: 64,
    ttftSeconds: 0.2,
  });
  t.requestRejected('m', 'm-target', 'SB_ERR_QUEUE_FULL');
  t.scheduled(0.0004, true, 'm-target', { name: 'pod-0', port: 8000 });
  t.observe('Score', plugin, 0.00002);
  t.modelRewritten('canary', 'm', 'm-target');
  t.admission.dispatchCycle(0.001);
  t.admission.setSaturation(() => 0.25);
  return t;
}

describe('--metrics-names', () => {
  it('both: every Go EPP sample appears under its llm-d name with the same value', async () => {
    const page = samples(await recorded('both').registry.metrics());
    let mapped = 0;
    const names = new Set<string>();
    for (const [key, value] of page) {
      const llmd = toLlmd(key);
      if (llmd === null) continue;
      expect(page.get(llmd), `${key} → ${llmd}`).toBe(value);
      names.add(llmd.slice(0, llmd.indexOf('{')));
      mapped++;
    }
    expect(mapped).toBeGreaterThan(100);
    // The renamed labels and the series that matter to dashboards and autoscalers are there.
    for (const key of [
      'llm_d_epp_request_total{model_name=m,priority=0,target_model_name=m-target}',
      'llm_d_epp_request_error_total{error_code=SB_ERR_QUEUE_FULL,model_name=m,target_model_name=m-target}',
      'llm_d_epp_request_ntpot_seconds_count{model_name=m,target_model_name=m-target}',
      'llm_d_epp_average_queue_size{name=llm}',
      'llm_d_epp_ready_endpoints{name=llm}',
      'llm_d_epp_per_endpoint_queue_size{model_server_endpoint=pod-0,name=llm}',
      'llm_d_epp_scheduler_attempts_total{endpoint_name=pod-0,namespace=,port=8000,status=success,target_model_name=m-target}',
      'llm_d_epp_flow_control_pool_saturation{inference_pool=llm,stage=effective}',
    ])
      expect(page.has(key), key).toBe(true);
    expect(page.get('llm_d_epp_average_queue_size{name=llm}')).toBe(2);
    // llm-d's spread gauges (population standard deviation): queue 3 and 1 → 1.
    expect(page.get('llm_d_epp_std_dev_queue_size{name=llm}')).toBe(1);
    expect(page.get('llm_d_epp_std_dev_running_requests{name=llm}')).toBe(1);
    // Every name in the table is exported when its source has been recorded (the info gauge always is).
    expect(names.has('llm_d_epp_info')).toBe(true);
  });

  it('gie: only the GIE names; llm-d: only the llm-d names', async () => {
    const gie = await recorded('gie').registry.metrics();
    expect(gie).toContain('inference_objective_request_total{');
    expect(gie).not.toMatch(/^llm_d_epp_/m);
    const llmd = await recorded('llm-d').registry.metrics();
    expect(llmd).toContain('llm_d_epp_request_total{');
    expect(llmd).not.toMatch(/^inference_(objective|pool|extension)_/m);
    // Switchboard's own series are there in every mode.
    for (const page of [gie, llmd]) expect(page).toContain('switchboard_endpoint_inflight_requests');
    // The llm-d-only page holds the same llm-d samples as the page with both.
    const both = samples(await recorded('both').registry.metrics());
    for (const [key, value] of samples(llmd)) if (key.startsWith('llm_d_epp_')) expect(both.get(key), key).toBe(value);
  });

  it('collects a shared gauge once per scrape, and again on the next scrape', async () => {
    const r = new Registry();
    let collects = 0;
    new Gauge({
      name: 'inference_pool_ready_pods',
      help: 'ready pods',
      labelNames: ['name'],
      registers: [r],
      collect() {
        collects++;
        this.set({ name: 'p' }, collects);
      },
    });
    applyMetricNames(r, 'both');
    const first = samples(await r.metrics());
    expect(collects).toBe(1);
    expect(first.get('inference_pool_ready_pods{name=p}')).toBe(1);
    expect(first.get('llm_d_epp_ready_endpoints{name=p}')).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    const second = samples(await r.metrics());
    expect(collects).toBe(2);
    expect(second.get('llm_d_epp_ready_endpoints{name=p}')).toBe(2);
  });

  it('serves the same values to the JSON reader as to the text page', async () => {
    const t = recorded('both');
    const json = await t.registry.getMetricsAsJSON();
    const pick = (name: string) => json.find((m) => m.name === name)?.values.map((v) => ({ labels: v.labels, value: v.value, suffix: (v as { metricName?: string }).metricName?.slice(name.length) }));
    expect(pick('llm_d_epp_flow_control_dispatch_cycle_duration_seconds')).toEqual(pick('inference_extension_flow_control_dispatch_cycle_duration_seconds'));
    const text = samples(await t.registry.metrics());
    expect(text.get('llm_d_epp_flow_control_dispatch_cycle_duration_seconds_count{}')).toBe(1);
    expect(text.get('inference_extension_flow_control_dispatch_cycle_duration_seconds_count{}')).toBe(1);
  });

  it('parses the flag values', () => {
    expect(parseMetricNames('both')).toBe('both');
    expect(parseMetricNames('llm-d')).toBe('llm-d');
    expect(parseMetricNames('gie')).toBe('gie');
    expect(parseMetricNames('upstream')).toBe('gie');
    expect(() => parseMetricNames('llmd')).toThrow(/--metrics-names: must be gie, llm-d or both, got "llmd"/);
  });

  it.each([
    ['both', true, true],
    ['llm-d', false, true],
    ['gie', true, false],
  ] as const)('a real serve with --metrics-names=%s exports GIE names: %s, llm-d names: %s', async (mode, gie, llmd) => {
    const logger = createLogger('silent');
    const flags = parseFlags(SERVE_FLAGS, ['--endpoints=127.0.0.1:1', '--metrics-port=0', '--grpc-port=-1', '--grpc-health-port=0', '--bind-address=127.0.0.1', `--metrics-names=${mode}`]);
    const started = await startServe(flags, defaultConfig(), logger);
    cleanup.push(() => stopAll(started.closables as Closable[], logger));
    const text = await (await request(`http://127.0.0.1:${started.metricsPort}/metrics`)).body.text();
    expect(text.includes('\ninference_pool_ready_pods{name="switchboard"} 0')).toBe(gie);
    expect(text.includes('\nllm_d_epp_ready_endpoints{name="switchboard"} 0')).toBe(llmd);
    expect(text.includes('\nllm_d_epp_std_dev_kv_cache_utilization{name="switchboard"} 0')).toBe(llmd);
  });
});
