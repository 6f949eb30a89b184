/**
 * Renders a simulated engine's state as a vLLM V1 `/metrics` page: the same names, label sets
 * and formatting (`engine="0"`, `model_name`, `_total` counters with `_created` siblings,
 * `vllm:lora_requests_info` whose value is a timestamp and whose old label combinations stay).
 */
import type { Engine } from '../engine/engine.js';
import type { Histogram } from '../engine/histogram.js';

/** Remembers every `lora_requests_info` label combination with its last-set time, like vLLM. */
export class LoraInfoSeries {
  private readonly series = new Map<string, number>();

  constructor(private readonly cap = 64) {}

  /** Sets the current combination to `unixSeconds`; returns all series, oldest first. */
  update(labels: string, unixSeconds: number): ReadonlyMap<string, number> {
    this.series.delete(labels);
    this.series.set(labels, unixSeconds);
    while (this.series.size > this.cap) this.series.delete(this.series.keys().next().value as string);
    return this.series;
  }
}

/** Inputs of one rendering. */
export interface MetricsPageInput {
  engine: Engine;
  /** Served base model name (`model_name` label). */
  modelName: string;
  /** Whether LoRA is enabled (vLLM registers `lora_requests_info` only then). */
  loraEnabled: boolean;
  loraSeries: LoraInfoSeries;
  /** Unix time (s) the counters were created. */
  createdAt: number;
  /** Unix time (s) now. */
  nowUnix: number;
  /** Requests the pod refused before the engine, by reason (simulator-specific metric). */
  rejected?: ReadonlyMap<string, number>;
}

/** Formats a number the way prometheus_client does (floats always with a fractional part). */
export function promNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isInteger(v)) return Math.abs(v) >= 1e6 ? v.toExponential() : `${v}.0`;
  return String(v);
}

export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The whole page. */
export function renderMetrics(input: MetricsPageInput): string {
  const { engine, modelName, createdAt } = input;
  const base = `engine="0",model_name="${escapeLabel(modelName)}"`;
  const c = engine.counters;
  const state = engine.state();
  const out: string[] = [];
  const gauge = (name: string, help: string, value: number): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name}{${base}} ${promNumber(value)}`);
  };
  const counter = (name: string, help: string, value: number): void => {
    out.push(`# HELP ${name}_total ${help}`, `# TYPE ${name}_total counter`, `${name}_total{${base}} ${promNumber(value)}`);
    out.push(`# HELP ${name}_created ${help}`, `# TYPE ${name}_created gauge`, `${name}_created{${base}} ${promNumber(createdAt)}`);
  };

  gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', state.running);
  gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', state.waiting);
  gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', state.kvUsage);
  counter('vllm:prefix_cache_queries', 'Prefix cache queries, in terms of number of queried tokens.', c.prefixQueries);
  counter('vllm:prefix_cache_hits', 'Prefix cache hits, in terms of number of cached tokens.', c.prefixHits);
  counter('vllm:num_preemptions', 'Cumulative number of preemption from the engine.', c.preemptions);
  counter('vllm:prompt_tokens', 'Number of prefill tokens processed.', c.promptTokens);
  counter('vllm:generation_tokens', 'Number of generation tokens processed.', c.generationTokens);

  out.push(
    '# HELP vllm:request_success_total Count of successfully processed requests.',
    '# TYPE vllm:request_success_total counter',
    `vllm:request_success_total{${base.replace('engine="0",', 'engine="0",finished_reason="length",')}} ${promNumber(c.finished)}`,
  );

  if (input.loraEnabled) {
    const labels =
      `max_lora="${state.maxLoras}",running_lora_adapters="${escapeLabel(state.runningAdapters.join(','))}",` +
      `waiting_lora_adapters="${escapeLabel(state.waitingAdapters.join(','))}"`;
    out.push('# HELP vllm:lora_requests_info Running stats on lora requests.', '# TYPE vllm:lora_requests_info gauge');
    for (const [l, t] of input.loraSeries.update(labels, input.nowUnix)) out.push(`vllm:lora_requests_info{${l}} ${promNumber(t)}`);
  }

  const p = engine.profile;
  out.push(
    '# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig',
    '# TYPE vllm:cache_config_info gauge',
    `vllm:cache_config_info{block_size="${p.blockSize}",cache_dtype="auto",enable_prefix_caching="${p.enablePrefixCaching ? 'True' : 'False'}",` +
      `engine="0",kv_cache_size_tokens="${p.numGpuBlocks * p.blockSize}",num_gpu_blocks="${p.numGpuBlocks}"} 1.0`,
  );

  if (input.rejected !== undefined && input.rejected.size > 0) {
    out.push(
      '# HELP switchboard_sim_rejected_requests_total Requests the simulated pod refused before its engine, by reason.',
      '# TYPE switchboard_sim_rejected_requests_total counter',
    );
    for (const [reason, n] of input.rejected) out.push(`switchboard_sim_rejected_requests_total{reason="${escapeLabel(reason)}"} ${promNumber(n)}`);
  }

  histogram(out, 'vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', engine.ttft, base);
  histogram(out, 'vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', engine.itl, base);
  histogram(out, 'vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', engine.e2e, base);
  out.push('');
  return out.join('\n');
}

export function histogram(out: string[], name: string, help: string, h: Histogram, base: string): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  for (const [le, n] of h.cumulative()) out.push(`${name}_bucket{${base},le="${le}"} ${promNumber(n)}`);
  out.push(`${name}_count{${base}} ${promNumber(h.count)}`, `${name}_sum{${base}} ${promNumber(h.sum)}`);
}
