/**
 * Engine mappings: which metric of a model server's /metrics page carries each signal the
 * scheduler reads. Built-ins use the Go EPP's names; user `engineConfigs` override them by name.
 */
import { SCRAPED_SIGNAL_NAMES, type SignalName } from '../pool/signals.js';
import { parseMetricSpec, type MetricSpec } from './metric-spec.js';

/** An engine config as written in EndpointPickerConfig (`core-metrics-extractor` parameters). */
export interface EngineConfig {
  /** Engine name matched against the endpoint's engine-type label. */
  name: string;
  /** Waiting-queue gauge; a list is our extension (first found wins). */
  queuedRequestsSpec?: string | string[];
  /** Running-requests gauge. */
  runningRequestsSpec?: string | string[];
  /** KV-cache utilization gauge (fraction 0..1). */
  kvUsageSpec?: string | string[];
  /** LoRA info gauge (labels running/waiting adapters, max_lora; value = timestamp). */
  loraSpec?: string;
  /** Info gauge whose labels carry the cache block size and block count. */
  cacheInfoSpec?: string;
  /** Label of `cacheInfoSpec` holding the block size in tokens. */
  cacheBlockSizeLabelName?: string;
  /** Label of `cacheInfoSpec` holding the number of KV blocks. */
  cacheNumBlocksLabelName?: string;
  /** Gauge holding the block size (engines without an info metric). */
  cacheBlockSizeSpec?: string;
  /** Gauge holding the number of KV blocks. */
  cacheNumBlocksSpec?: string;
  /** Extension: the metric of each declared signal (pool/signals.ts) this engine reports. */
  signalSpecs?: Partial<Record<SignalName, string | string[]>>;
}

/** An engine config compiled for extraction. */
export interface EngineMapping {
  name: string;
  queued: MetricSpec[];
  running: MetricSpec[];
  kvUsage: MetricSpec[];
  lora: MetricSpec | null;
  cacheInfo: MetricSpec | null;
  cacheBlockSizeLabel: string;
  cacheNumBlocksLabel: string;
  cacheBlockSize: MetricSpec | null;
  cacheNumBlocks: MetricSpec | null;
  /** Declared signals this engine maps, with their metric specs (first found wins). */
  signals: Array<{ name: SignalName; specs: MetricSpec[] }>;
  /** Every metric name the mapping reads: the parser skips all other lines. */
  names: ReadonlySet<string>;
}

/** The built-in engines (vLLM v1 with v0 fallback, SGLang, trtllm-serve, Triton TRT-LLM, JetStream). */
export const BUILTIN_ENGINES: readonly EngineConfig[] = [
  {
    name: 'vllm',
    queuedRequestsSpec: 'vllm:num_requests_waiting',
    runningRequestsSpec: 'vllm:num_requests_running',
    // v1 name first, then the v0 / early-v1 name.
    kvUsageSpec: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'],
    loraSpec: 'vllm:lora_requests_info',
    cacheInfoSpec: 'vllm:cache_config_info',
    cacheBlockSizeLabelName: 'block_size',
    cacheNumBlocksLabelName: 'num_gpu_blocks',
    signalSpecs: { preemptions: 'vllm:num_preemptions_total' },
  },
  {
    name: 'sglang',
    queuedRequestsSpec: 'sglang:num_queue_reqs',
    runningRequestsSpec: 'sglang:num_running_reqs',
    kvUsageSpec: 'sglang:token_usage',
    cacheInfoSpec: 'sglang:cache_config_info',
    cacheBlockSizeLabelName: 'page_size',
    cacheNumBlocksLabelName: 'num_pages',
  },
  {
    name: 'trtllm-serve',
    queuedRequestsSpec: 'trtllm_num_requests_waiting',
    runningRequestsSpec: 'trtllm_num_requests_running',
    kvUsageSpec: 'trtllm_kv_cache_utilization',
    cacheBlockSizeSpec: 'trtllm_kv_cache_tokens_per_block',
    cacheNumBlocksSpec: 'trtllm_kv_cache_max_blocks',
  },
  {
    name: 'triton-tensorrt-llm',
    queuedRequestsSpec: 'nv_trt_llm_request_metrics{request_type=waiting}',
    runningRequestsSpec: 'nv_trt_llm_request_metrics{request_type=scheduled}',
    kvUsageSpec: 'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=fraction}',
    cacheBlockSizeSpec: 'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=tokens_per}',
    cacheNumBlocksSpec: 'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=max}',
  },
  {
    // JetStream (TPU): prefill backlog is the queue; slot use stands in for KV utilization.
    name: 'jetstream',
    queuedRequestsSpec: 'jetstream_prefill_backlog_size',
    runningRequestsSpec: '',
    kvUsageSpec: 'jetstream_slots_used_percentage',
  },
];

function specList(v: string | string[] | undefined, field: string, engine: string): MetricSpec[] {
  const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
  const out: MetricSpec[] = [];
  for (const s of list) {
    if (typeof s !== 'string') throw new Error(`engine "${engine}": ${field} must be a string or list of strings`);
    const spec = parseMetricSpec(s);
    if (spec !== null) out.push(spec);
  }
  return out;
}

function oneSpec(v: string | undefined, field: string, engine: string): MetricSpec | null {
  if (v === undefined) return null;
  if (typeof v !== 'string') throw new Error(`engine "${engine}": ${field} must be a string`);
  return parseMetricSpec(v);
}

function signalSpecs(v: EngineConfig['signalSpecs'], engine: string): EngineMapping['signals'] {
  if (v === undefined) return [];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`engine "${engine}": signalSpecs must be a mapping of signal name to metric`);
  const out: EngineMapping['signals'] = [];
  for (const [name, spec] of Object.entries(v)) {
    // Observed signals (response latencies) come from the front doors, never from a page.
    if (!(SCRAPED_SIGNAL_NAMES as string[]).includes(name))
      throw new Error(`engine "${engine}": signalSpecs.${name}: unknown signal (known: ${SCRAPED_SIGNAL_NAMES.join(', ')})`);
    out.push({ name: name as SignalName, specs: specList(spec, `signalSpecs.${name}`, engine) });
  }
  return out;
}

/** Compiles an engine config; throws with the engine and field name on bad specs. */
export function compileEngine(cfg: EngineConfig): EngineMapping {
  const n = cfg.name;
  const m: Omit<EngineMapping, 'names'> = {
    name: n,
    queued: specList(cfg.queuedRequestsSpec, 'queuedRequestsSpec', n),
    running: specList(cfg.runningRequestsSpec, 'runningRequestsSpec', n),
    kvUsage: specList(cfg.kvUsageSpec, 'kvUsageSpec', n),
    lora: oneSpec(cfg.loraSpec, 'loraSpec', n),
    cacheInfo: oneSpec(cfg.cacheInfoSpec, 'cacheInfoSpec', n),
    cacheBlockSizeLabel: cfg.cacheBlockSizeLabelName ?? 'block_size',
    cacheNumBlocksLabel: cfg.cacheNumBlocksLabelName ?? 'num_gpu_blocks',
    cacheBlockSize: oneSpec(cfg.cacheBlockSizeSpec, 'cacheBlockSizeSpec', n),
    cacheNumBlocks: oneSpec(cfg.cacheNumBlocksSpec, 'cacheNumBlocksSpec', n),
    signals: signalSpecs(cfg.signalSpecs, n),
  };
  const names = new Set<string>();
  for (const s of [...m.queued, ...m.running, ...m.kvUsage, m.lora, m.cacheInfo, m.cacheBlockSize, m.cacheNumBlocks, ...m.signals.flatMap((x) => x.specs)])
    if (s !== null) names.add(s.name);
  return { ...m, names };
}

/** The engine table: built-ins overridden by user configs of the same name. */
export class EngineRegistry {
  private readonly byName = new Map<string, EngineMapping>();
  private readonly userConfigs: readonly EngineConfig[];

  /** `defaultEngine` applies to endpoints without an engine-type label. */
  constructor(
    userConfigs: readonly EngineConfig[] = [],
    readonly defaultEngine = 'vllm',
    readonly engineLabelKey = 'inference.networking.k8s.io/engine-type',
  ) {
    this.userConfigs = userConfigs;
    for (const c of BUILTIN_ENGINES) this.byName.set(c.name, compileEngine(c));
    for (const c of userConfigs) this.byName.set(c.name, compileEngine(c));
    if (!this.byName.has(defaultEngine)) throw new Error(`defaultEngine "${defaultEngine}" is not a known engine`);
  }

  /** The mapping for an engine name, falling back to the default engine for unknown names. */
  resolve(engine: string | null): EngineMapping {
    return (engine !== null ? this.byName.get(engine) : undefined) ?? (this.byName.get(this.defaultEngine) as EngineMapping);
  }

  /** The same mappings with another default engine (a pool's model-server type); throws for unknown names. */
  withDefault(engine: string): EngineRegistry {
    if (engine === this.defaultEngine) return this;
    if (!this.byName.has(engine)) throw new Error(`"${engine}" is not a known engine (known: ${this.names().join(', ')})`);
    return new EngineRegistry(this.userConfigs, engine, this.engineLabelKey);
  }

  /** Known engine names. */
  names(): string[] {
    return [...this.byName.keys()];
  }
}
