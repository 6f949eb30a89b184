/**
 * Exported Prometheus metrics, with the Go EPP's names, types and labels so dashboards and
 * autoscalers built for it work unchanged, plus Switchboard's own (`switchboard_*`).
 *
 * Per-request recording goes through cached label children, so the hot path does a Map lookup
 * and an observe, not a label-object hash per metric. Pool gauges are computed at scrape time.
 */
import { registerKvEventMetrics } from './kv-events-metrics.js';
import type { PrecisePrefixStats } from '../scheduling/framework/precise-prefix.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { FastCounter, FastGauge, FastHistogram, type CounterSeries, type GaugeSeries, type HistogramSeries } from './fast-metrics.js';
import type { EndpointPool } from '../pool/pool.js';
import type { PluginTimer } from '../scheduling/framework/profile.js';
import type { Plugin } from '../scheduling/framework/plugin.js';
import type { PrefixStats } from '../scheduling/framework/prefix-match.js';
import type { AccessLogStats } from './access-log-stats.js';
import { AdmissionMetrics } from './admission-metrics.js';
import { applyMetricNames, type MetricNames } from './metric-names.js';

const DURATION_BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, 120, 180, 240, 300, 360,
  480, 600, 900, 1200, 1800, 2700, 3600,
];
const REQUEST_SIZE_BUCKETS = Array.from({ length: 25 }, (_, i) => 64 * 2 ** i); // 64 B .. 1 GiB
const RESPONSE_SIZE_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536];
const INPUT_TOKEN_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536, 131072, 262144, 524288, 1048576];
const OUTPUT_TOKEN_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];
const TPOT_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const SCHEDULER_BUCKETS = [0.00001, 0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1];
const PLUGIN_BUCKETS = [0.000001, 0.000002, 0.000005, 0.00001, 0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.005, 0.01];

/** Distinct model names reported as labels before the rest become `other`. */
const MAX_MODEL_LABELS = 500;
/** Longer model names are reported as `other`: a label value must not carry a client's megabyte. */
const MAX_MODEL_LABEL_LENGTH = 256;

/** Per-(model, target) children of the per-request series. */
interface ModelSeries {
  incoming: string;
  target: string;
  /** Request counters by priority. */
  totals: Map<number, CounterSeries>;
  /** Error counters by error code. */
  errors: Map<string, CounterSeries>;
  running: GaugeSeries;
  duration: HistogramSeries;
  requestSize: HistogramSeries;
  responseSize: HistogramSeries;
  inputTokens: HistogramSeries;
  outputTokens: HistogramSeries;
  cachedTokens: HistogramSeries;
  ntpot: HistogramSeries;
  ttft: HistogramSeries;
  tpot: HistogramSeries;
}

/** What telemetry reports about one finished request. */
export interface FinishedRequest {
  incomingModel: string;
  targetModel: string;
  priority: number;
  /** Error code (ours) when it failed, else null. */
  errorCode: string | null;
  durationSeconds: number;
  requestBytes: number;
  responseBytes: number;
  /** Token counts from `usage`, or -1 when unknown. */
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  /** Time to first token, or -1 when not measured. */
  ttftSeconds: number;
}

/** All exported metrics of one process. */
export class Telemetry implements PluginTimer {
  readonly registry: Registry;
  private readonly series = new Map<string, ModelSeries>();
  private readonly requestTotal: FastCounter;
  private readonly requestErrors: FastCounter;
  private readonly duration: FastHistogram;
  private readonly requestSizes: FastHistogram;
  private readonly responseSizes: FastHistogram;
  private readonly inputTokens: FastHistogram;
  private readonly outputTokens: FastHistogram;
  private readonly cachedTokens: FastHistogram;
  private readonly ntpot: FastHistogram;
  private readonly ttft: FastHistogram;
  private readonly tpot: FastHistogram;
  private readonly running: FastGauge;
  private readonly schedulerE2e: HistogramSeries;
  private readonly schedulerAttempts: FastCounter;
  private readonly pluginDuration: FastHistogram;
  private readonly pluginChildren = new WeakMap<Plugin, Map<string, HistogramSeries>>();
  readonly scrapes: Counter<string>;
  readonly scrapeDuration: Histogram<string>;
  readonly badInput: Counter<string>;
  /** Flow control, model rewrite, prompt guard and token budget metrics. */
  readonly admission: AdmissionMetrics;
  private prefixStats: (() => PrefixStats) | null = null;
  private precisePrefixStats: (() => PrecisePrefixStats) | null = null;
  private accessLogStats: (() => AccessLogStats) | null = null;
  private readonly modelLabels = new Set<string>();
  private readonly attemptChildren = new Map<string, CounterSeries>();
  /** Pools reported by the pool gauges (label `name`); the first is the one given at construction. */
  private readonly pools: Array<{ name: string; pool: EndpointPool }> = [];

  constructor(opts: {
    poolName: string;
    pool: EndpointPool;
    stalenessMs: number;
    version?: string;
    defaultMetrics?: boolean;
    /** Names of the Go EPP's metrics: GIE's, llm-d's or both (default both). */
    metricNames?: MetricNames;
  }) {
    const r = (this.registry = new Registry());
    const reqLabels = ['model_name', 'target_model_name'];
    this.requestTotal = new FastCounter(
      'inference_objective_request_total',
      'Counter of inference objective requests broken out for each model and target model.',
      [...reqLabels, 'priority'],
      r,
    );
    this.requestErrors = new FastCounter(
      'inference_objective_request_error_total',
      'Counter of inference objective requests errors broken out for each model and target model.',
      [...reqLabels, 'error_code'],
      r,
    );
    const hist = (name: string, help: string, buckets: number[], labelNames = reqLabels) => new FastHistogram(name, help, labelNames, buckets, r);
    this.duration = hist('inference_objective_request_duration_seconds', 'Inference objective response latency distribution in seconds for each model and target model.', DURATION_BUCKETS);
    this.requestSizes = hist('inference_objective_request_sizes', 'Inference objective requests size distribution in bytes for each model and target model.', REQUEST_SIZE_BUCKETS);
    this.responseSizes = hist('inference_objective_response_sizes', 'Inference objective responses size distribution in bytes for each model and target model.', RESPONSE_SIZE_BUCKETS);
    this.inputTokens = hist('inference_objective_input_tokens', 'Inference objective input token count distribution for requests in each model.', INPUT_TOKEN_BUCKETS);
    this.outputTokens = hist('inference_objective_output_tokens', 'Inference objective output token count distribution for requests in each model.', OUTPUT_TOKEN_BUCKETS);
    this.cachedTokens = hist('inference_objective_prompt_cached_tokens', 'Inference objective prompt cached token count distribution for requests in each model.', INPUT_TOKEN_BUCKETS);
    this.ntpot = hist('inference_objective_normalized_time_per_output_token_seconds', 'Inference objective latency divided by number of output tokens in seconds for each model and target model.', TPOT_BUCKETS);
    this.ttft = hist('inference_objective_request_ttft_seconds', 'Time to first token in seconds, measured from the response stream, for each model and target model.', TTFT_BUCKETS);
    this.tpot = hist('inference_objective_request_tpot_seconds', 'Time per output token after the first, in seconds, measured from the response stream, for each model and target model.', TPOT_BUCKETS);
    this.running = new FastGauge('inference_objective_running_requests', 'Inference objective number of running requests in each model.', ['model_name'], r);

    const pools = this.pools;
    pools.push({ name: opts.poolName, pool: opts.pool });
    const poolName = opts.poolName;
    const freshSlots = (pool: EndpointPool): number[] => {
      const now = pool.clock.now();
      return pool
        .endpoints()
        .map((e) => e.slot)
        .filter((s) => pool.isFresh(s, now, opts.stalenessMs));
    };
    const avg = (col: Float64Array, slots: number[]) => (slots.length === 0 ? 0 : slots.reduce((a, s) => a + col[s], 0) / slots.length);
    // One series per pool (label `name`): several pools in one picker share these gauges.
    const poolGauge = (name: string, help: string, value: (pool: EndpointPool, slots: number[]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['name'],
        registers: [r],
        collect() {
          for (const p of pools) this.set({ name: p.name }, value(p.pool, freshSlots(p.pool)));
        },
      });
    poolGauge('inference_pool_average_kv_cache_utilization', 'The average kv cache utilization for an inference server pool.', (p, s) => avg(p.kvUsage, s));
    poolGauge('inference_pool_average_queue_size', 'The average number of requests pending in the model server queue.', (p, s) => avg(p.waiting, s));
    poolGauge('inference_pool_average_running_requests', 'The average number of requests currently being processed in the model server.', (p, s) => avg(p.running, s));
    poolGauge('inference_pool_ready_pods', 'The number of ready pods in the inference server pool.', (_p, s) => s.length);
    const metricNames = opts.metricNames ?? 'both';
    if (metricNames !== 'gie') {
      // llm-d's pool-spread gauges have no GIE name: population standard deviation over fresh endpoints.
      const std = (col: Float64Array, slots: number[]) => {
        if (slots.length === 0) return 0;
        const mean = avg(col, slots);
        return Math.sqrt(slots.reduce((a, s) => a + (col[s] - mean) ** 2, 0) / slots.length);
      };
      poolGauge('llm_d_epp_std_dev_kv_cache_utilization', 'The standard deviation of kv cache utilization across the pool\'s endpoints.', (p, s) => std(p.kvUsage, s));
      poolGauge('llm_d_epp_std_dev_queue_size', 'The standard deviation of the number of requests pending in the model server queues.', (p, s) => std(p.waiting, s));
      poolGauge('llm_d_epp_std_dev_running_requests', 'The standard deviation of the number of running requests across the pool\'s endpoints.', (p, s) => std(p.running, s));
    }
    new Gauge({
      name: 'inference_pool_per_pod_queue_size',
      help: 'The total number of requests pending in the model server queue for each underlying pod.',
      labelNames: ['name', 'model_server_pod'],
      registers: [r],
      collect() {
        this.reset();
        for (const p of pools) for (const ep of p.pool.endpoints()) this.set({ name: p.name, model_server_pod: ep.name }, p.pool.waiting[ep.slot]);
      },
    });
    new Gauge({
      name: 'switchboard_endpoint_inflight_requests',
      help: 'Requests Switchboard sent to each endpoint and has not seen finish.',
      labelNames: ['name', 'endpoint'],
      registers: [r],
      collect() {
        this.reset();
        for (const p of pools) for (const ep of p.pool.endpoints()) this.set({ name: p.name, endpoint: ep.key }, p.pool.inflight[ep.slot]);
      },
    });

    this.schedulerE2e = new FastHistogram('inference_extension_scheduler_e2e_duration_seconds', 'End-to-end scheduling latency distribution in seconds.', [], SCHEDULER_BUCKETS, r).labels();
    this.schedulerAttempts = new FastCounter(
      'inference_extension_scheduler_attempts_total',
      'Total number of scheduling attempts.',
      ['status', 'target_model_name', 'pod_name', 'namespace', 'port'],
      r,
    );
    this.pluginDuration = new FastHistogram(
      'inference_extension_plugin_duration_seconds',
      'Plugin processing latency distribution in seconds for each extension point, plugin type and plugin name.',
      ['extension_point', 'plugin_type', 'plugin_name'],
      PLUGIN_BUCKETS,
      r,
    );
    const self = this;
    new Gauge({
      name: 'inference_extension_prefix_indexer_size',
      help: 'Size of the prefix indexer.',
      registers: [r],
      collect() {
        this.set(self.prefixStats?.().indexSize ?? 0);
      },
    });
    new Gauge({
      name: 'inference_extension_prefix_indexer_hit_ratio',
      help: 'Ratio of prefix blocks matched on the best endpoint to blocks looked up, since start.',
      registers: [r],
      collect() {
        const s = self.prefixStats?.();
        this.set(s === undefined || s.blocksLooked === 0 ? 0 : s.blocksMatched / s.blocksLooked);
      },
    });
    new Gauge({
      name: 'inference_extension_prefix_indexer_hit_bytes',
      help: 'Prompt bytes matched in the prefix index on the best endpoint, since start.',
      registers: [r],
      collect() {
        this.set(self.prefixStats?.().bytesMatched ?? 0);
      },
    });
    registerKvEventMetrics(r, () => self.precisePrefixStats?.() ?? null);
    new Counter({
      name: 'switchboard_access_log_lines_total',
      help: 'Access log lines by result: written, dropped_full (buffer full: slow disk), dropped_error (failed write), skipped_no_usage.',
      labelNames: ['result'],
      registers: [r],
      collect() {
        const s = self.accessLogStats?.();
        if (s === undefined) return;
        this.reset();
        this.inc({ result: 'written' }, s.written);
        this.inc({ result: 'dropped_full' }, s.droppedFull);
        this.inc({ result: 'dropped_error' }, s.droppedError);
        this.inc({ result: 'skipped_no_usage' }, s.skippedNoUsage);
      },
    });
    new Gauge({
      name: 'inference_extension_info',
      help: 'General information of the current build of Inference Extension.',
      labelNames: ['commit', 'build_ref'],
      registers: [r],
    }).set({ commit: process.env.SWITCHBOARD_COMMIT ?? 'unknown', build_ref: `switchboard-${opts.version ?? 'dev'}` }, 1);

    this.scrapes = new Counter({
      name: 'switchboard_metrics_scrapes_total',
      help: 'Model-server metrics scrapes by outcome.',
      labelNames: ['outcome'],
      registers: [r],
    });
    this.scrapeDuration = new Histogram({
      name: 'switchboard_metrics_scrape_duration_seconds',
      help: 'Duration of model-server metrics scrapes.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [r],
    });
    this.badInput = new Counter({
      name: 'switchboard_rejected_input_total',
      help: 'Inputs rejected as malformed or over limits, by source and reason.',
      labelNames: ['source', 'reason'],
      registers: [r],
    });
    this.admission = new AdmissionMetrics(r, poolName, (m) => this.label(m));
    // After every Go EPP metric is registered: adds the llm-d names and/or drops the GIE ones.
    applyMetricNames(r, metricNames);
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: r });
  }

  /** The scheduling-latency histogram (readers such as the dashboard). */
  get schedulerLatency(): HistogramSeries {
    return this.schedulerE2e;
  }

  /** Prefix-index statistics now, or null without a prefix index. */
  prefix(): PrefixStats | null {
    return this.prefixStats?.() ?? null;
  }

  /** Requests refused or failed since start, by error code (summed over models). */
  errorsByCode(): Map<string, number> {
    const out = new Map<string, number>();
    for (const { labels, child } of this.requestErrors.series()) out.set(labels.error_code, (out.get(labels.error_code) ?? 0) + child.value);
    return out;
  }

  /** Reads precise prefix-index statistics (KV events) at scrape time. */
  setPrecisePrefixStats(fn: (() => PrecisePrefixStats) | null): void {
    this.precisePrefixStats = fn;
  }

  /** Adds a pool to the pool gauges (several pools in one picker share one registry). */
  addPool(name: string, pool: EndpointPool): void {
    if (this.pools.some((p) => p.name === name)) throw new Error(`pool "${name}" is already reported`);
    this.pools.push({ name, pool });
  }

  /** Reads prefix-index statistics at scrape time. */
  setPrefixStats(fn: (() => PrefixStats) | null): void {
    this.prefixStats = fn;
  }

  /** Where the access log's counts come from (null: no access log configured). */
  setAccessLogStats(fn: (() => AccessLogStats) | null): void {
    this.accessLogStats = fn;
  }

  /** PluginTimer: one plugin call's latency. */
  observe(extensionPoint: string, plugin: Plugin, seconds: number): void {
    let byPoint = this.pluginChildren.get(plugin);
    if (byPoint === undefined) this.pluginChildren.set(plugin, (byPoint = new Map()));
    let child = byPoint.get(extensionPoint);
    if (child === undefined) {
      child = this.pluginDuration.labels(extensionPoint, plugin.typedName.type, plugin.typedName.name);
      byPoint.set(extensionPoint, child);
    }
    child.observe(seconds);
  }

  /** One scheduling cycle's latency and outcome. */
  scheduled(seconds: number, ok: boolean, targetModel: string, pod: { name: string; port: number } | null): void {
    this.schedulerE2e.observe(seconds);
    const target = this.label(targetModel);
    const key = `${ok ? 1 : 0}\u0000${target}\u0000${pod?.name ?? ''}\u0000${pod?.port ?? ''}`;
    let child = this.attemptChildren.get(key);
    if (child === undefined) {
      // Bounded like the model labels: endpoints come and go, so the cache is reset when large.
      if (this.attemptChildren.size > 20_000) this.attemptChildren.clear();
      child = this.schedulerAttempts.labels(ok ? 'success' : 'failure', target, pod?.name ?? '', '', pod === null ? '' : String(pod.port));
      this.attemptChildren.set(key, child);
    }
    child.inc();
  }

  /** A request was routed: counts it and its size, and raises the running gauge. */
  requestStarted(incoming: string, target: string, priority: number, bytes: number, retry = false): void {
    incoming = this.label(incoming);
    target = this.label(target);
    const s = this.seriesFor(incoming, target);
    s.running.inc();
    if (retry) return; // a front door's new pick: the request was counted by its first attempt
    let total = s.totals.get(priority);
    if (total === undefined) s.totals.set(priority, (total = this.requestTotal.labels(incoming, target, String(priority))));
    total.inc();
    s.requestSize.observe(bytes);
  }

  /** An attempt ended so another could carry the request on: only the running gauge moves. */
  requestAbandoned(incoming: string, target: string): void {
    this.seriesFor(this.label(incoming), this.label(target)).running.dec();
  }

  /** A rewrite rule (`rule`) sent `model` to `target`. */
  modelRewritten(rule: string, model: string, target: string): void {
    this.admission.modelRewritten(rule, model, target);
  }

  /** A request was rejected before routing. */
  requestRejected(incoming: string, target: string, errorCode: string): void {
    this.errorFor(this.seriesFor(this.label(incoming), this.label(target)), errorCode).inc();
  }

  /** A routed request finished. */
  requestFinished(f: FinishedRequest): void {
    const incoming = this.label(f.incomingModel);
    const target = this.label(f.targetModel);
    const s = this.seriesFor(incoming, target);
    s.running.dec();
    if (f.errorCode !== null) {
      this.errorFor(s, f.errorCode).inc();
      return;
    }
    s.duration.observe(f.durationSeconds);
    s.responseSize.observe(f.responseBytes);
    if (f.inputTokens >= 0) s.inputTokens.observe(f.inputTokens);
    if (f.cachedTokens > 0) s.cachedTokens.observe(f.cachedTokens);
    if (f.outputTokens > 0) {
      s.outputTokens.observe(f.outputTokens);
      s.ntpot.observe(f.durationSeconds / f.outputTokens);
      if (f.ttftSeconds >= 0 && f.outputTokens > 1) s.tpot.observe((f.durationSeconds - f.ttftSeconds) / (f.outputTokens - 1));
    }
    if (f.ttftSeconds >= 0) s.ttft.observe(f.ttftSeconds);
  }

  /**
   * Model names come from clients: past MAX_MODEL_LABELS distinct names, new ones are reported
   * as `other`, so a client cannot grow the series without bound.
   */
  private label(model: string): string {
    if (this.modelLabels.has(model)) return model;
    if (this.modelLabels.size >= MAX_MODEL_LABELS || model.length > MAX_MODEL_LABEL_LENGTH) return 'other';
    this.modelLabels.add(model);
    return model;
  }

  private errorFor(s: ModelSeries, code: string): Counter.Internal {
    let c = s.errors.get(code);
    if (c === undefined) s.errors.set(code, (c = this.requestErrors.labels(s.incoming, s.target, code)));
    return c;
  }

  private seriesFor(incoming: string, target: string): ModelSeries {
    const key = `${incoming}\u0000${target}`;
    let s = this.series.get(key);
    if (s === undefined) {
      const l = [incoming, target];
      s = {
        incoming,
        target,
        totals: new Map(),
        errors: new Map(),
        running: this.running.labels(incoming),
        duration: this.duration.labels(...l),
        requestSize: this.requestSizes.labels(...l),
        responseSize: this.responseSizes.labels(...l),
        inputTokens: this.inputTokens.labels(...l),
        outputTokens: this.outputTokens.labels(...l),
        cachedTokens: this.cachedTokens.labels(...l),
        ntpot: this.ntpot.labels(...l),
        ttft: this.ttft.labels(...l),
        tpot: this.tpot.labels(...l),
      };
      this.series.set(key, s);
    }
    return s;
  }
}
