/** What an engine reports: monotonic counters and the gauges of a vLLM /metrics page. */

/** Monotonic counters, as vLLM exposes them. */
export interface EngineCounters {
  /** Prompt tokens looked up in the prefix cache (`vllm:prefix_cache_queries`). */
  prefixQueries: number;
  /** Of those, tokens found (`vllm:prefix_cache_hits`). */
  prefixHits: number;
  /** Preemptions (`vllm:num_preemptions`). */
  preemptions: number;
  /** Prompt tokens of admitted requests (`vllm:prompt_tokens`). */
  promptTokens: number;
  /** Output tokens produced (`vllm:generation_tokens`). */
  generationTokens: number;
  /** Requests that produced all their tokens. */
  finished: number;
  /** Requests the engine failed or that were aborted. */
  failed: number;
  /** Engine steps run. */
  steps: number;
  /** Time spent in steps, ms. */
  busyMs: number;
  /** Uncached prefill tokens computed (recompute after preemption included). */
  prefillTokens: number;
}

/** Gauges and settings a vLLM /metrics page reports. */
export interface EngineState {
  /** Served base model (the `model_name` label of every vLLM metric). */
  model: string;
  waiting: number;
  running: number;
  /** Referenced KV blocks / total blocks. */
  kvUsage: number;
  /** Adapters with running requests. */
  runningAdapters: string[];
  /** Adapters with waiting requests. */
  waitingAdapters: string[];
  maxLoras: number;
  blockSize: number;
  numGpuBlocks: number;
  /** Preemptions so far (`vllm:num_preemptions_total`, a counter). */
  preemptions: number;
}

/** Fresh, all-zero counters. */
export function newCounters(): EngineCounters {
  return {
    prefixQueries: 0,
    prefixHits: 0,
    preemptions: 0,
    promptTokens: 0,
    generationTokens: 0,
    finished: 0,
    failed: 0,
    steps: 0,
    busyMs: 0,
    prefillTokens: 0,
  };
}
