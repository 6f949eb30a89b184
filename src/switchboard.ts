/**
 * The composition root of the core: from a validated config and settings, builds the pool, the
 * metrics collection, the scheduler, admission and the director. Front doors, discovery and the
 * simulator take the parts they need from the returned object.
 */
import { buildAdmission } from './admission/build.js';
import type { FlowController } from './admission/flow-controller.js';
import type { AdmissionPipeline } from './admission/pipeline.js';
import { systemTimers, type Timers } from './admission/timers.js';
import { ModelRewriter, ObjectiveStore } from './admission/objectives.js';
import type { EndpointPickerConfig } from './config/types.js';
import { MetricsCollector, type CollectorOptions } from './datalayer/collector.js';
import type { EngineConfig, EngineRegistry } from './datalayer/engines.js';
import { buildLifecycleHooks } from './director/build.js';
import { ACCESS_LOG_STATS } from './telemetry/access-log-stats.js';
import { RequestDirector, type DirectorLogger } from './director/director.js';
import type { LifecycleHook } from './director/framework/lifecycle-hook.js';
import { sbError } from './errors.js';
import type { EndpointSpec } from './pool/endpoint.js';
import { EndpointPool, systemClock, type Clock } from './pool/pool.js';
import { registerBuiltinPlugins } from './builtin-plugins.js';
import { buildDataLayer } from './datalayer/build.js';
import { instantiatePlugins } from './framework/instantiate.js';
import type { PluginRegistry } from './framework/registry.js';
import { buildScheduling, type BuiltScheduling } from './scheduling/build.js';
import type { ConfigWarning } from './warnings.js';
import { PREFIX_STATS } from './scheduling/framework/prefix-match.js';
import { PRECISE_PREFIX_STATS } from './scheduling/framework/precise-prefix.js';
import { isTokenizingPlugin, type PromptTokenizer } from './request/tokenization/prompt-tokenizer.js';
import { Scheduler } from './scheduling/scheduler.js';
import { Telemetry } from './telemetry/metrics.js';
import type { MetricNames } from './telemetry/metric-names.js';
import type { DecisionSampler } from './telemetry/dashboard/decisions.js';

/** Settings of the core (flags and config merged by the CLI). */
export interface SwitchboardOptions {
  config: EndpointPickerConfig;
  /** Static endpoints (`--endpoints` plus the config's `endpoints:`). */
  endpoints?: EndpointSpec[];
  /** Pool name for metric labels (`--pool-name`). */
  poolName?: string;
  clock?: Clock;
  /** Timers for queue TTLs and dispatch re-checks (the virtual-time simulator injects its own). */
  timers?: Timers;
  /** Random numbers in [0,1); seed it for reproducible runs. */
  rng?: () => number;
  /** `--metrics-staleness-threshold`, ms. */
  stalenessMs?: number;
  /** Scrape settings; `metrics-data-source` parameters and flags merged. */
  collector?: Partial<CollectorOptions>;
  /** Start scrape loops (off for the virtual-time simulator, which feeds metrics itself). */
  scrape?: boolean;
  /** Metric-name overrides for the default engine (the Go EPP's deprecated metric flags). */
  engineOverrides?: Partial<EngineConfig>;
  /** Command-line settings by flag name, for plugins a flag configures (`--kv-events-port`). */
  settings?: Readonly<Record<string, unknown>>;
  /** Export Prometheus metrics (off in the simulator). */
  telemetry?: boolean;
  /** Record per-plugin latency histograms. */
  pluginTiming?: boolean;
  /** Plugin registry; the built-ins when absent (tests and embedders add their own plugins). */
  registry?: PluginRegistry;
  /** Ignore the gateway's subset hint. */
  disableSubsetFilter?: boolean;
  logger?: DirectorLogger | null;
  version?: string;
  /** Names of the exported Go EPP metrics (`--metrics-names`, default both). */
  metricNames?: MetricNames;
  /** Samples explained decisions for the live dashboard (`--enable-dashboard`). */
  decisions?: DecisionSampler | null;
  /**
   * Several pools in one picker: report into this pool's telemetry (one registry) under
   * `poolName` instead of making one's own.
   */
  sharedTelemetry?: Telemetry;
  /** Engine of endpoints without the engine-type label (a pool's model-server type); the extractor's default when absent. */
  defaultEngine?: string;
}

/** The assembled core. */
export interface Switchboard {
  readonly pool: EndpointPool;
  readonly director: RequestDirector;
  readonly scheduler: Scheduler;
  readonly telemetry: Telemetry | null;
  readonly collector: MetricsCollector | null;
  readonly engines: EngineRegistry;
  readonly objectives: ObjectiveStore;
  readonly rewriter: ModelRewriter;
  /** Guards, token budgets and the gate (shedding or flow control) the director runs. */
  readonly admission: AdmissionPipeline;
  /** The flow controller when the `flowControl` feature gate is on, else null. */
  readonly flowControl: FlowController | null;
  readonly built: BuiltScheduling;
  /** Request-lifecycle hooks the director tells about every routed attempt's end. */
  readonly hooks: readonly LifecycleHook[];
  /** Config warnings (unknown plugin parameters, deprecated names, a profile without scorers), coded. */
  readonly warnings: ConfigWarning[];
  /** Stops scrape loops. */
  close(): Promise<void>;
}

/** Builds the core. Throws coded config errors. */
export function createSwitchboard(opts: SwitchboardOptions): Switchboard {
  const clock = opts.clock ?? systemClock;
  const rng = opts.rng ?? Math.random;
  const stalenessMs = opts.stalenessMs ?? 2000;
  const pool = new EndpointPool(clock);
  const shared = opts.sharedTelemetry ?? null;
  const telemetry =
    shared ?? (opts.telemetry === false ? null : new Telemetry({ poolName: opts.poolName ?? 'switchboard', pool, stalenessMs, version: opts.version, metricNames: opts.metricNames }));
  shared?.addPool(opts.poolName ?? 'switchboard', pool);
  const registry = opts.registry ?? registerBuiltinPlugins();
  const handle = { pool, rng, settings: opts.settings, timers: opts.timers };
  const warnings: ConfigWarning[] = [];
  // Every plugin the config declares, made once; each subsystem takes what it needs by contract.
  const plugins = instantiatePlugins(opts.config.plugins, registry, handle, warnings, opts.config.source);
  const built = buildScheduling(opts.config, handle, { registry, plugins, warnings, timer: opts.pluginTiming === true ? telemetry : null });
  const data = buildDataLayer(opts.config, plugins, registry, handle, opts.engineOverrides, warnings);
  let engines = data.engines;
  if (opts.defaultEngine !== undefined) {
    try {
      engines = engines.withDefault(opts.defaultEngine);
    } catch (err) {
      throw sbError('SB_ERR_CONFIG', `pool "${opts.poolName ?? 'switchboard'}".modelServerType`, (err as Error).message);
    }
  }
  const collectorOpts: Partial<CollectorOptions> = { ...data.source, ...opts.collector };

  const scheduler = new Scheduler(pool, built.profile, { stalenessThresholdMs: stalenessMs, rng });
  const objectives = new ObjectiveStore(opts.config.objectives);
  const rewriter = new ModelRewriter(opts.config.modelRewrites);
  const detector = built.saturationDetector;
  const admission = buildAdmission(opts.config, { pool, detector, timers: opts.timers ?? systemTimers, observer: telemetry?.admission ?? null, registry, plugins, handle, warnings });
  // Fresh metrics or a new endpoint may mean capacity: queued requests are re-checked then.
  const flow = admission.flowControl;
  if (flow !== null) {
    pool.onMetrics(() => flow.poke());
    pool.subscribe((e) => {
      if (e.type === 'added') flow.poke();
    });
  }
  // A shared registry keeps the first pool's saturation and prefix gauges (the multi-pool layer reports per pool).
  if (shared === null) telemetry?.admission.setSaturation(() => {
    const slots = pool.endpoints().map((e) => e.slot);
    return detector.saturation(pool, slots, slots.length, clock.now());
  });
  const hooks = buildLifecycleHooks(plugins, registry, handle, warnings);
  // A plugin that keys blocks by tokens (precise-prefix-cache-scorer) has the director tokenize prompts first.
  let promptTokenizer: PromptTokenizer | null = null;
  for (const p of plugins.values()) if (isTokenizingPlugin(p)) promptTokenizer ??= p.promptTokenizer;
  const director = new RequestDirector({
    pool,
    scheduler,
    telemetry,
    objectives,
    rewriter,
    admission: admission.pipeline,
    parser: built.parser,
    rng,
    disableSubsetFilter: opts.disableSubsetFilter,
    logger: opts.logger ?? null,
    hooks,
    decisions: opts.decisions ?? null,
    promptTokenizer,
  });

  if (shared === null) {
    telemetry?.setPrefixStats(built.stats.reader(PREFIX_STATS));
    telemetry?.setPrecisePrefixStats(built.stats.reader(PRECISE_PREFIX_STATS));
    telemetry?.setAccessLogStats(built.stats.reader(ACCESS_LOG_STATS));
  }

  let collector: MetricsCollector | null = null;
  if (opts.scrape !== false) {
    collector = new MetricsCollector(pool, engines, collectorOpts, (_ep, outcome, ms) => {
      telemetry?.scrapes.inc({ outcome });
      telemetry?.scrapeDuration.observe(ms / 1000);
      // Pages that arrived but could not be used are rejected input, like a malformed request.
      if (outcome === 'parse_error' || outcome === 'too_large' || outcome === 'truncated') telemetry?.badInput.inc({ source: 'metrics_page', reason: outcome });
    });
    collector.start();
  }
  const endpoints = [...(opts.endpoints ?? []), ...opts.config.endpoints];
  if (endpoints.length > 0) pool.setEndpoints(endpoints);

  return {
    pool,
    director,
    scheduler,
    telemetry,
    collector,
    engines,
    objectives,
    rewriter,
    admission: admission.pipeline,
    flowControl: flow,
    built,
    hooks,
    warnings,
    async close() {
      await collector?.stop();
      await admission.close();
      // Plugins holding sockets or threads (KV-event subscribers, tokenizer workers).
      for (const p of plugins.values()) {
        const c = (p as { close?: unknown }).close;
        if (typeof c === 'function') await (c as () => Promise<void>).call(p);
      }
    },
  };
}
