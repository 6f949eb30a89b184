/** Reads the real /metrics pages in ../shared/fixtures/metrics (never copied into the repo). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES_DIR = fileURLToPath(new URL('../../../shared/fixtures/metrics/', import.meta.url));

/** Text of fixture `name`. */
export function fixture(name: string): string {
  return readFileSync(FIXTURES_DIR + name, 'utf8');
}

export const FIXTURE_NAMES = [
  'sglang_metrics_docs_example.prom',
  'triton_trtllm_backend_metrics.prom',
  'vllm_v0_full_metrics_sample.prom',
  'vllm_v0_lora_engine_excerpt.prom',
  'vllm_v1_lora_requests_info_multi_series.prom',
  'vllm_v1_metrics_head_capture.prom',
  'vllm_v1_recent_cache_lines.prom',
];
