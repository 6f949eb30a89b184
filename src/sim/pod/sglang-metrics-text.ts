/**
 * The `/metrics` page of a simulated pod in SGLang mode (`--engine sglang`): SGLang's names
 * from its Production Metrics documentation (`sglang:num_running_reqs`, `sglang:num_queue_reqs`,
 * `sglang:token_usage`, `sglang:cache_hit_rate`, ...) with its `model_name` label, plus
 * `sglang:cache_config_info{page_size,num_pages}`, which the Gateway API Inference Extension
 * reads for SGLang (newer SGLang versions only).
 */
import type { Engine } from '../engine/engine.js';
import { escapeLabel, histogram, promNumber } from './metrics-text.js';

/**
 * SGLang's rate gauges (`gen_throughput`, `cache_hit_rate`) are measured over recent work, not
 * the server's lifetime: here, between one scrape and the next.
 */
export class SglangRates {
  /** The first window starts when the pod starts, with every counter at zero. */
  private last: { t: number; gen: number; queries: number; hits: number };

  constructor(startMs: number) {
    this.last = { t: startMs, gen: 0, queries: 0, hits: 0 };
  }

  private throughput = 0;
  private hitRate = 0;

  /** Generation throughput over the last scrape window, tokens/s . */
  get genThroughput(): number {
    return this.throughput;
  }

  /** Updates from `engine`'s counters at `nowMs`; returns the current gauges. */
  update(engine: Engine, nowMs: number): { genThroughput: number; cacheHitRate: number } {
    const c = engine.counters;
    const cur = { t: nowMs, gen: c.generationTokens, queries: c.prefixQueries, hits: c.prefixHits };
    const prev = this.last;
    const dt = (cur.t - prev.t) / 1000;
    if (dt > 0) this.throughput = (cur.gen - prev.gen) / dt;
    // No new prefix lookups since the last scrape: keep the last rate rather than report 0.
    if (cur.queries > prev.queries) this.hitRate = (cur.hits - prev.hits) / (cur.queries - prev.queries);
    this.last = cur;
    return { genThroughput: this.throughput, cacheHitRate: this.hitRate };
  }
}

/** Renders the page. */
export function renderSglangMetrics(
  engine: Engine,
  modelName: string,
  rates: SglangRates,
  nowMs: number,
  rejected: ReadonlyMap<string, number> = new Map(),
): string {
  const base = `model_name="${escapeLabel(modelName)}"`;
  const state = engine.state();
  const c = engine.counters;
  const p = engine.profile;
  const { genThroughput, cacheHitRate } = rates.update(engine, nowMs);
  const out: string[] = [];
  const metric = (type: 'gauge' | 'counter', name: string, help: string, value: number): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}{${base}} ${promNumber(value)}`);
  };
  metric('counter', 'sglang:prompt_tokens_total', 'Number of prefill tokens processed.', c.promptTokens);
  metric('counter', 'sglang:generation_tokens_total', 'Number of generation tokens processed.', c.generationTokens);
  metric('gauge', 'sglang:token_usage', 'The token usage', state.kvUsage);
  metric('gauge', 'sglang:cache_hit_rate', 'The cache hit rate', cacheHitRate);
  metric('gauge', 'sglang:num_running_reqs', 'The number of running requests', state.running);
  metric('gauge', 'sglang:num_used_tokens', 'The number of used tokens', Math.round(state.kvUsage * p.numGpuBlocks * p.blockSize));
  metric('gauge', 'sglang:gen_throughput', 'The generate throughput (token/s)', genThroughput);
  metric('gauge', 'sglang:num_queue_reqs', 'The number of requests in the waiting queue', state.waiting);
  out.push(
    '# HELP sglang:cache_config_info Information of the cache config',
    '# TYPE sglang:cache_config_info gauge',
    `sglang:cache_config_info{${base},num_pages="${p.numGpuBlocks}",page_size="${p.blockSize}"} 1.0`,
  );
  if (rejected.size > 0) {
    // The simulator's own count of refused requests, as on the vLLM-mode page.
    out.push(
      '# HELP switchboard_sim_rejected_requests_total Requests the simulated pod refused before its engine, by reason.',
      '# TYPE switchboard_sim_rejected_requests_total counter',
    );
    for (const [reason, n] of rejected) out.push(`switchboard_sim_rejected_requests_total{reason="${escapeLabel(reason)}"} ${promNumber(n)}`);
  }
  histogram(out, 'sglang:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', engine.ttft, base);
  histogram(out, 'sglang:e2e_request_latency_seconds', 'Histogram of End-to-end request latency in seconds', engine.e2e, base);
  // The simulator's per-token gaps are what SGLang's time-per-output-token histogram measures.
  histogram(out, 'sglang:time_per_output_token_seconds', 'Histogram of time per output token in seconds.', engine.itl, base);
  out.push('');
  return out.join('\n');
}
