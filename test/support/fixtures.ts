/** Reads the real /metrics pages kept in test/fixtures/metrics (sources in SOURCES.md there). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root: the nearest folder above this file holding package.json (works from dist-bench too). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** `test/fixtures/metrics/` in this checkout: nothing outside the repository is read. */
export const FIXTURES_DIR = join(repoRoot(), 'test', 'fixtures', 'metrics') + '/';

/** `test/fixtures/tokenizer/tiny-bpe/`: a hand-made tokenizer.json + tokenizer_config.json (README there). */
export const TINY_TOKENIZER_DIR = join(repoRoot(), 'test', 'fixtures', 'tokenizer', 'tiny-bpe');

/** Text of fixture `name`. */
export function fixture(name: string): string {
  return readFileSync(FIXTURES_DIR + name, 'utf8');
}

export const FIXTURE_NAMES = [
  'jetstream_docs_example.prom',
  'sglang_metrics_docs_example.prom',
  'triton_trtllm_backend_metrics.prom',
  'vllm_v0_full_metrics_sample.prom',
  'vllm_v0_lora_engine_excerpt.prom',
  'vllm_v1_lora_requests_info_multi_series.prom',
  'vllm_v1_metrics_head_capture.prom',
  'vllm_v1_recent_cache_lines.prom',
];
