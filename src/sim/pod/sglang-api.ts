/**
 * SGLang's native probe endpoints for a simulated pod in SGLang mode, in SGLang's shapes
 * (`python/sglang/srt/entrypoints/http_server.py`): `/get_server_info` (server arguments,
 * scheduler info, per-DP internal states, version), `/get_load` (one entry per DP rank) and
 * `/get_model_info`. `/health_generate` runs in the pod itself (it needs the engine).
 */
import type { Engine } from '../engine/engine.js';

/** The SGLang version whose API the simulator follows in SGLang mode. */
export const SGLANG_API_VERSION = '0.5.3';

/** What the endpoints need to know about the pod. */
export interface SglangPodInfo {
  engine: Engine;
  modelName: string;
  host: string;
  port: number;
  loraEnabled: boolean;
  /** Generation throughput of the last scrape window, tokens/s. */
  genThroughput: number;
}

/** `GET /get_server_info`: a subset of `ServerArgs`, the scheduler info, internal states and version. */
export function serverInfo(pod: SglangPodInfo): string {
  const p = pod.engine.profile;
  const maxTotal = p.numGpuBlocks * p.blockSize;
  return JSON.stringify({
    model_path: pod.modelName,
    tokenizer_path: pod.modelName,
    served_model_name: pod.modelName,
    host: pod.host,
    port: pod.port,
    tp_size: 1,
    dp_size: 1,
    pp_size: 1,
    page_size: p.blockSize,
    context_length: p.maxModelLen,
    max_running_requests: p.maxNumSeqs,
    chunked_prefill_size: p.maxNumBatchedTokens,
    disable_radix_cache: !p.enablePrefixCaching,
    enable_lora: pod.loraEnabled,
    max_loras_per_batch: p.maxLoras,
    is_embedding: p.embeddingDim > 0,
    enable_metrics: true,
    max_total_num_tokens: maxTotal,
    max_req_input_len: Math.max(1, p.maxModelLen - 1),
    internal_states: [{ last_gen_throughput: pod.genThroughput, memory_usage: {}, dp_rank: 0 }],
    version: SGLANG_API_VERSION,
  });
}

/**
 * `GET /get_load`: one entry per DP rank. `num_reqs` = running + waiting, `num_tokens` = tokens
 * held or wanted (KV in use plus waiting prompts), `num_pending_tokens` = the waiting prompts' part.
 */
export function loadInfo(engine: Engine, tsSeconds: number): string {
  const state = engine.state();
  const p = engine.profile;
  const used = Math.round(state.kvUsage * p.numGpuBlocks * p.blockSize);
  let pending = 0;
  for (const r of engine.waiting) pending += r.promptLen;
  return JSON.stringify([
    {
      dp_rank: 0,
      num_reqs: state.running + state.waiting,
      num_waiting_reqs: state.waiting,
      num_tokens: used + pending,
      num_pending_tokens: pending,
      ts_tic: tsSeconds,
    },
  ]);
}

/** `GET /get_model_info`. */
export function modelInfo(engine: Engine, modelName: string): string {
  return JSON.stringify({ model_path: modelName, tokenizer_path: modelName, is_generation: engine.profile.embeddingDim === 0 });
}
