/**
 * The autoscalers read the pool gauges once, however many Switchboard replicas export them. Two
 * real `serve` instances (the active-active case) scrape the same two model servers; what their
 * /metrics pages say is turned into the series each metrics pipeline stores (GMP: one time series
 * per scrape target; Prometheus: the same), then queried the way the HPA's adapter does with the
 * selector in deploy/autoscaling. An External metric's value is the sum of the values returned,
 * so anything but one value per pool would multiply the queue by the replica count.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseFlags } from '../../src/cli/flags.js';
import { SERVE_FLAGS } from '../../src/cli/serve-flags.js';
import { startServe, stopAll, type Closable } from '../../src/cli/serve.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { at, readDocs } from '../support/deploy.js';
import { MetricsServer, vllmPage } from '../support/metrics-server.js';

type Json = Record<string, unknown>;
interface Series {
  metric: string;
  labels: Record<string, string>;
  /** Labels the scrape adds: GMP's prometheus_target resource labels, Prometheus's target labels. */
  target: Record<string, string>;
  value: number;
}

const POOL = 'vllm-llama3-3b';
const GAUGES = ['inference_pool_average_queue_size', 'inference_pool_average_kv_cache_utilization'];
const cleanup: Array<() => Promise<void>> = [];
const series: Series[] = [];

/** Samples of `names` in a Prometheus text page. */
function samples(text: string, names: string[]): Array<{ metric: string; labels: Record<string, string>; value: number }> {
  const out: Array<{ metric: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || !names.includes(m[1])) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    out.push({ metric: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

beforeAll(async () => {
  const pods = await Promise.all([new MetricsServer().start(), new MetricsServer().start()]);
  for (const p of pods) cleanup.push(() => p.close());
  pods[0].page = vllmPage({ waiting: 9, kv: 0.9 });
  pods[1].page = vllmPage({ waiting: 1, kv: 0.1 });
  const logger = createLogger('silent');
  for (const replica of ['switchboard-7d9f-a', 'switchboard-7d9f-b']) {
    const flags = parseFlags(SERVE_FLAGS, [
      `--endpoints=127.0.0.1:${pods[0].port},127.0.0.1:${pods[1].port}`,
      '--metrics-port=0',
      '--grpc-port=-1',
      '--bind-address=127.0.0.1',
      '--refresh-metrics-interval=10ms',
      `--pool-name=${POOL}`,
    ]);
    const { closables, metricsPort } = await startServe(flags, defaultConfig(), logger);
    cleanup.push(() => stopAll(closables as Closable[], logger));
    let page: ReturnType<typeof samples> = [];
    await vi.waitFor(
      async () => {
        page = samples(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(), GAUGES);
        expect(page.find((s) => s.metric === GAUGES[0])?.value).toBe(5);
      },
      { timeout: 10_000, interval: 50 },
    );
    for (const s of page) series.push({ ...s, target: { namespace: 'default', job: 'switchboard', instance: `${replica}:metrics`, pod: replica } });
  }
}, 30_000);

afterAll(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const REDUCERS: Record<string, (v: number[]) => number> = {
  REDUCE_MAX: (v) => Math.max(...v),
  REDUCE_MIN: (v) => Math.min(...v),
  REDUCE_MEAN: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  REDUCE_SUM: (v) => v.reduce((a, b) => a + b, 0),
};

/**
 * The Custom Metrics Stackdriver Adapter's external metric query over GMP series: the metric type
 * from `prometheus.googleapis.com|<name>|gauge`, `metric.labels.*` / `resource.labels.*` filters
 * from the selector, and its `reducer` as the cross-series reducer (no reducer: every series).
 */
function stackdriverExternal(name: string, matchLabels: Record<string, string>): number[] {
  const [prefix, metric, kind] = name.split('|');
  expect([prefix, kind]).toEqual(['prometheus.googleapis.com', 'gauge']);
  const matched = series.filter(
    (s) =>
      s.metric === metric &&
      Object.entries(matchLabels).every(([k, v]) => {
        if (k === 'reducer') return true;
        if (k.startsWith('metric.labels.')) return s.labels[k.slice(14)] === v;
        if (k.startsWith('resource.labels.')) return s.target[k.slice(16)] === v;
        throw new Error(`selector key ${k} is not one the adapter accepts`);
      }),
  );
  const reducer = matchLabels.reducer;
  if (reducer === undefined) return matched.map((s) => s.value);
  expect(Object.keys(REDUCERS)).toContain(reducer);
  return matched.length === 0 ? [] : [REDUCERS[reducer](matched.map((s) => s.value))];
}

/** prometheus-adapter's external rule: `<agg>(<<.Series>>{<<.LabelMatchers>>}) by (<labels>)` over Prometheus series. */
function prometheusExternal(rule: Json, matchLabels: Record<string, string>): number[] {
  const q = /^(max|min|avg|sum)\(<<\.Series>>\{<<\.LabelMatchers>>\}\) by \(([\w, ]+)\)$/.exec(String(rule.metricsQuery));
  expect(q, String(rule.metricsQuery)).not.toBeNull();
  const by = q![2].split(',').map((l) => l.trim());
  const metric = String(/^(\w+)\{/.exec(String(rule.seriesQuery))![1]);
  const groups = new Map<string, number[]>();
  for (const s of series) {
    const all = { ...s.target, ...s.labels };
    if (s.metric !== metric || !Object.entries(matchLabels).every(([k, v]) => all[k] === v)) continue;
    const key = by.map((l) => all[l] ?? '').join('\u0000');
    groups.set(key, [...(groups.get(key) ?? []), s.value]);
  }
  const agg = { max: REDUCERS.REDUCE_MAX, min: REDUCERS.REDUCE_MIN, avg: REDUCERS.REDUCE_MEAN, sum: REDUCERS.REDUCE_SUM }[q![1] as 'max']!;
  return [...groups.values()].map(agg);
}

/** The HPA's value of an External metric: the sum of what the adapter returned. */
const hpaValue = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('HPA on pool gauges with two Switchboard replicas', () => {
  it('both replicas export the pool gauges with the same labels (only the scrape target tells them apart)', () => {
    for (const g of GAUGES) {
      const mine = series.filter((s) => s.metric === g);
      expect(mine).toHaveLength(2);
      expect(mine[0].labels).toEqual({ name: POOL });
      expect(mine[1].labels).toEqual(mine[0].labels);
      expect(mine[1].value).toBe(mine[0].value);
    }
  });

  it('GKE (hpa-gke.yaml): the selector reduces to one series per metric, so the HPA sees the real pool value', () => {
    const hpa = readDocs('autoscaling/hpa-gke.yaml')[0].obj;
    const metrics = at(hpa, 'spec.metrics') as Json[];
    expect(metrics).toHaveLength(2);
    const real: Record<string, number> = { inference_pool_average_queue_size: 5, inference_pool_average_kv_cache_utilization: 0.5 };
    for (const m of metrics) {
      const name = String(at(m, 'external.metric.name'));
      const sel = at(m, 'external.metric.selector.matchLabels') as Record<string, string>;
      expect(at(m, 'external.target.type')).toBe('Value');
      const values = stackdriverExternal(name, sel);
      expect(values, name).toHaveLength(1);
      expect(hpaValue(values)).toBeCloseTo(real[name.split('|')[1]], 9);
      // What the selector without its reducer would give: one series per replica, summed.
      const { reducer: _drop, ...plain } = sel;
      expect(hpaValue(stackdriverExternal(name, plain))).toBeCloseTo(2 * real[name.split('|')[1]], 9);
    }
  });

  it('prometheus-adapter (hpa.yaml + values): the query returns one value per pool, the largest across replicas', () => {
    const rules = at(readDocs('autoscaling/prometheus-adapter-values.yaml')[0].obj, 'rules.external') as Json[];
    const hpa = readDocs('autoscaling/hpa.yaml')[0].obj;
    for (const m of at(hpa, 'spec.metrics') as Json[]) {
      const name = String(at(m, 'external.metric.name'));
      const rule = rules.find((r) => at(r, 'name.as') === name)!;
      expect(rule, name).toBeDefined();
      const values = prometheusExternal(rule, at(m, 'external.metric.selector.matchLabels') as Record<string, string>);
      expect(values, name).toHaveLength(1);
      expect(hpaValue(values)).toBeCloseTo(series.find((s) => s.metric === name)!.value, 9);
    }
  });
});
