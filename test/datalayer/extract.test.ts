import { describe, expect, it } from 'vitest';
import { EngineRegistry } from '../../src/datalayer/engines.js';
import { extractMetrics } from '../../src/datalayer/extract.js';
import { parseMetricSpec } from '../../src/datalayer/metric-spec.js';
import { fixture } from '../support/fixtures.js';

const engines = new EngineRegistry();
const get = (text: string, engine = 'vllm') => {
  const r = extractMetrics(text, engines.resolve(engine));
  if (!r.ok) throw new Error(r.error);
  return { ...r.metrics, activeAdapters: [...r.metrics.activeAdapters], waitingAdapters: [...r.metrics.waitingAdapters] };
};

describe('engine mappings on real pages', () => {
  it('vLLM v1: queue, running, kv_cache_usage_perc; _created samples ignored', () => {
    expect(get(fixture('vllm_v1_metrics_head_capture.prom'))).toMatchObject({ waitingQueueSize: 0, runningRequests: 0, kvCacheUsage: 0 });
  });
  it('vLLM v0: falls back to gpu_cache_usage_perc and reads cache_config_info labels', () => {
    expect(get(fixture('vllm_v0_full_metrics_sample.prom'))).toMatchObject({
      waitingQueueSize: 2,
      runningRequests: 3,
      cacheBlockSize: 16,
      cacheNumBlocks: 11560,
      maxAdapters: 0,
    });
  });
  it('vLLM with LoRA: max_lora from lora_requests_info', () => {
    expect(get(fixture('vllm_v0_lora_engine_excerpt.prom'))).toMatchObject({ maxAdapters: 1, cacheBlockSize: 16, cacheNumBlocks: 2340 });
  });
  it('vLLM v1 LoRA: the series with the newest timestamp value wins', () => {
    const page = 'vllm:num_requests_waiting 1\nvllm:num_requests_running 2\nvllm:kv_cache_usage_perc 0.5\n' + fixture('vllm_v1_lora_requests_info_multi_series.prom');
    expect(get(page)).toMatchObject({ maxAdapters: 2, activeAdapters: [], waitingAdapters: [] });
    const older = page.replace('1.7886264577368872e+09', '1.0');
    expect(get(older)).toMatchObject({ activeAdapters: ['adapter_json'], waitingAdapters: ['adapter_json'] });
  });
  it('vLLM v1 newest cache_config_info label set', () => {
    const page = 'vllm:num_requests_waiting 0\nvllm:num_requests_running 0\n' + fixture('vllm_v1_recent_cache_lines.prom');
    expect(get(page)).toMatchObject({ cacheBlockSize: 1568, cacheNumBlocks: 49, kvCacheUsage: 0 });
  });
  it('SGLang documented page', () => {
    expect(get(fixture('sglang_metrics_docs_example.prom'), 'sglang')).toMatchObject({ waitingQueueSize: 2826, runningRequests: 162, kvCacheUsage: 0.28 });
  });
  it('the served base model comes from the running metric\'s model_name label (absent without one)', () => {
    expect(get(fixture('vllm_v1_metrics_head_capture.prom')).servedModel).toBe('llama-vllm-single');
    expect(get(fixture('sglang_metrics_docs_example.prom'), 'sglang').servedModel).toBe('meta-llama/Llama-3.1-8B-Instruct');
    expect(get(fixture('triton_trtllm_backend_metrics.prom'), 'triton-tensorrt-llm').servedModel).toBeUndefined();
    // A label too long to be a model id is dropped rather than kept.
    const long = `vllm:num_requests_waiting 0\nvllm:num_requests_running{model_name="${'x'.repeat(300)}"} 1\nvllm:kv_cache_usage_perc 0\n`;
    expect(get(long).servedModel).toBeUndefined();
  });
  it('Triton TensorRT-LLM: label-selected specs and gauge block sizes', () => {
    expect(get(fixture('triton_trtllm_backend_metrics.prom'), 'triton-tensorrt-llm')).toMatchObject({
      waitingQueueSize: 1,
      runningRequests: 1,
      kvCacheUsage: 0.4875,
      cacheBlockSize: 64,
      cacheNumBlocks: 6239,
    });
  });
  it('trtllm-serve and JetStream mappings', () => {
    const trt = 'trtllm_num_requests_waiting 4\ntrtllm_num_requests_running 2\ntrtllm_kv_cache_utilization 0.3\ntrtllm_kv_cache_tokens_per_block 32\ntrtllm_kv_cache_max_blocks 900\n';
    expect(get(trt, 'trtllm-serve')).toMatchObject({ waitingQueueSize: 4, runningRequests: 2, kvCacheUsage: 0.3, cacheBlockSize: 32, cacheNumBlocks: 900 });
    expect(get('jetstream_prefill_backlog_size 7\njetstream_slots_used_percentage 0.5\n', 'jetstream')).toMatchObject({ waitingQueueSize: 7, runningRequests: 0, kvCacheUsage: 0.5 });
  });
  it('unknown engine labels fall back to the default engine', () => {
    expect(engines.resolve('mystery').name).toBe('vllm');
  });
});

describe('bad pages', () => {
  const base = 'vllm:num_requests_waiting 1\nvllm:num_requests_running 2\nvllm:kv_cache_usage_perc 0.5\n';
  const bad = (text: string) => {
    const r = extractMetrics(text, engines.resolve('vllm'));
    return r.ok ? null : r.error;
  };
  it('names the missing metric', () => {
    expect(bad('vllm:num_requests_running 2\nvllm:kv_cache_usage_perc 0.5\n')).toMatch(/queue metric vllm:num_requests_waiting not found/);
    expect(bad('\u0000\u0001binary\u00ff')).toMatch(/not found/);
  });
  it('rejects NaN, Inf and negative values', () => {
    expect(bad(base.replace('0.5', 'NaN'))).toMatch(/not a fraction/);
    expect(bad(base.replace('waiting 1', 'waiting +Inf'))).toMatch(/not a count/);
    expect(bad(base.replace('running 2', 'running -3'))).toMatch(/not a count/);
  });
  it('names the parse error when the wanted line is malformed', () => {
    expect(bad('vllm:num_requests_waiting{engine="0" 1\nvllm:num_requests_running 2\nvllm:kv_cache_usage_perc 0.5\n')).toMatch(/not found \(expected , or } in label set/);
  });
  it('clamps KV slightly above 1 and parses "None" block counts as unknown', () => {
    expect(get(base.replace('0.5', '1.0000001'))).toMatchObject({ kvCacheUsage: 1 });
    expect(get(base + 'vllm:cache_config_info{block_size="16",num_gpu_blocks="None"} 1\n')).toMatchObject({ cacheBlockSize: 16, cacheNumBlocks: 0 });
  });
});

describe('user engine configs', () => {
  it('override built-ins by name and validate specs', () => {
    const reg = new EngineRegistry([{ name: 'vllm', queuedRequestsSpec: 'my_queue{pool="a"}', runningRequestsSpec: 'my_running', kvUsageSpec: 'my_kv' }]);
    const r = extractMetrics('my_queue{pool="b"} 9\nmy_queue{pool="a"} 3\nmy_running 1\nmy_kv 0.25\n', reg.resolve(null));
    expect(r.ok && r.metrics.waitingQueueSize).toBe(3);
    expect(() => new EngineRegistry([{ name: 'x', kvUsageSpec: 'bad{' }])).toThrow(/bad metric spec/);
    expect(() => new EngineRegistry([], 'nope')).toThrow(/defaultEngine "nope"/);
  });
  it('parses PromQL-style specs with and without quotes', () => {
    expect(parseMetricSpec('a:b{x="1,2", y=z}')).toMatchObject({ name: 'a:b', labels: [['x', '1,2'], ['y', 'z']] });
    expect(parseMetricSpec('')).toBeNull();
    expect(() => parseMetricSpec('1bad')).toThrow();
  });
});
