/**
 * Declared signals (pool/signals.ts): one declaration and one engine mapping entry make a column
 * every scorer can read. `preemptions` is the first: vLLM's counter, kept as a rate.
 */
import { describe, expect, it } from 'vitest';
import { EngineRegistry } from '../../src/datalayer/engines.js';
import { extractMetrics } from '../../src/datalayer/extract.js';
import { EndpointPool } from '../../src/pool/pool.js';
import { SIGNAL_NAMES } from '../../src/pool/signals.js';
import type { MetricsSnapshot } from '../../src/pool/endpoint.js';
import { fixture } from '../support/fixtures.js';
import { ManualClock } from '../support/pool.js';

const vllm = new EngineRegistry().resolve('vllm');
const page = (preempted: number) => `vllm:num_requests_waiting 0\nvllm:num_requests_running 1\nvllm:kv_cache_usage_perc 0.2\nvllm:num_preemptions_total{engine="0"} ${preempted}\n`;

function metrics(text: string): MetricsSnapshot {
  const r = extractMetrics(text, vllm);
  if (!r.ok) throw new Error(r.error);
  return r.metrics;
}

describe('declared signals', () => {
  it('extracts vLLM preemptions from a real page (vllm:num_preemptions_total)', () => {
    expect(SIGNAL_NAMES).toContain('preemptions');
    expect(metrics(fixture('vllm_v0_full_metrics_sample.prom')).signals).toEqual({ preemptions: 0 });
    expect(metrics(page(7)).signals).toEqual({ preemptions: 7 });
  });

  it('leaves signals out when the engine does not report them', () => {
    const sglang = new EngineRegistry().resolve('sglang');
    const r = extractMetrics(fixture('sglang_metrics_docs_example.prom'), sglang);
    expect(r.ok).toBe(true);
    expect(r.ok ? r.metrics.signals : null).toBeUndefined();
  });

  it('keeps a counter as its rate per second between scrapes; restarts and gaps give 0', () => {
    const clock = new ManualClock();
    const pool = new EndpointPool(clock);
    const ep = pool.upsert({ address: '127.0.0.1', port: 8000 });
    pool.recordMetrics(ep, metrics(page(10)));
    expect(pool.signal.preemptions[ep.slot]).toBe(0); // first sample: no rate yet
    clock.advance(2000);
    pool.recordMetrics(ep, metrics(page(16)));
    expect(pool.signal.preemptions[ep.slot]).toBeCloseTo(3, 10);
    clock.advance(1000);
    pool.recordMetrics(ep, metrics(page(2))); // counter went backwards: the pod restarted
    expect(pool.signal.preemptions[ep.slot]).toBe(0);
    clock.advance(1000);
    pool.recordMetrics(ep, metrics(page(3)));
    expect(pool.signal.preemptions[ep.slot]).toBeCloseTo(1, 10);
    pool.recordMetrics(ep, metrics('vllm:num_requests_waiting 0\nvllm:num_requests_running 0\nvllm:kv_cache_usage_perc 0\n'));
    expect(pool.signal.preemptions[ep.slot]).toBe(0);
    expect(pool.describe(ep).signals).toEqual({ preemptions: 0, ttft: 0, tpot: 0, prefillMs: 0, prefillMsPerToken: 0, answers: 0 });
  });

  it('columns grow with the pool and reset when a slot is reused', () => {
    const clock = new ManualClock();
    const pool = new EndpointPool(clock);
    const eps = Array.from({ length: 40 }, (_, i) => pool.upsert({ address: '127.0.0.1', port: 9000 + i }));
    expect(pool.signal.preemptions.length).toBe(pool.capacity);
    pool.recordMetrics(eps[39], metrics(page(1)));
    clock.advance(1000);
    pool.recordMetrics(eps[39], metrics(page(5)));
    expect(pool.signal.preemptions[eps[39].slot]).toBe(4);
    const slot = eps[39].slot;
    pool.remove(eps[39].key);
    const again = pool.upsert({ address: '127.0.0.2', port: 1 });
    expect(again.slot).toBe(slot);
    expect(pool.signal.preemptions[slot]).toBe(0);
  });

  it('users map signals for their own engines, and unknown signal names are refused', () => {
    const custom = new EngineRegistry([{ name: 'mine', queuedRequestsSpec: 'q', runningRequestsSpec: 'r', kvUsageSpec: 'kv', signalSpecs: { preemptions: 'my_preempted_total' } }], 'mine');
    const r = extractMetrics('q 0\nr 0\nkv 0\nmy_preempted_total 9\n', custom.resolve('mine'));
    expect(r.ok && r.metrics.signals).toEqual({ preemptions: 9 });
    expect(() => new EngineRegistry([{ name: 'bad', signalSpecs: { warp: 'x' } as never }])).toThrow(/signalSpecs\.warp: unknown signal/);
  });
});
