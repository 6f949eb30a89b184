import { describe, expect, it } from 'vitest';
import { Params } from '../../../src/framework/params.js';
import { coreMetricsExtractor } from '../../../src/datalayer/plugins/core-metrics-extractor/index.js';

const handle = { pool: null as never, rng: Math.random };
const build = (params: Record<string, unknown>) => coreMetricsExtractor('x', new Params('x', params), handle);

describe('core-metrics-extractor', () => {
  it('uses the built-in engines, vllm by default', () => {
    const engines = build({}).engines();
    expect(engines.defaultEngine).toBe('vllm');
    expect(engines.names()).toEqual(expect.arrayContaining(['vllm', 'sglang', 'trtllm-serve', 'triton-tensorrt-llm', 'jetstream']));
    expect(engines.resolve(null).queued.map((s) => s.name)).toEqual(['vllm:num_requests_waiting']);
  });

  it('replaces a built-in by name and adds new engines', () => {
    const engines = build({ defaultEngine: 'mine', engineConfigs: [{ name: 'mine', queuedRequestsSpec: 'q', runningRequestsSpec: 'r', kvUsageSpec: 'kv' }, { name: 'vllm', queuedRequestsSpec: 'custom_waiting', runningRequestsSpec: 'r', kvUsageSpec: 'kv' }] }).engines();
    expect(engines.resolve(null).name).toBe('mine');
    expect(engines.resolve('vllm').queued.map((s) => s.name)).toEqual(['custom_waiting']);
  });

  it('applies the deprecated metric flags to the default engine', () => {
    const engines = build({}).engines({ queuedRequestsSpec: 'legacy_queue' });
    expect(engines.resolve(null).queued.map((s) => s.name)).toEqual(['legacy_queue']);
    expect(engines.resolve(null).running.map((s) => s.name)).toEqual(['vllm:num_requests_running']);
  });

  it.each([
    { params: { defaultEngine: 'nope' }, error: /defaultEngine "nope" is not a known engine/ },
    { params: { engineConfigs: {} }, error: /engineConfigs must be a list/ },
    { params: { engineConfigs: [{ queuedRequestsSpec: 'q' }] }, error: /engineConfigs\[0\] must be a mapping with a name/ },
  ])('refuses $params', ({ params, error }) => {
    expect(() => build(params)).toThrow(error);
  });
});
