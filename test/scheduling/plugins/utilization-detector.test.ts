import { describe, expect, it } from 'vitest';
import type { UtilizationDetector } from '../../../src/scheduling/plugins/utilization-detector/index.js';
import { makePool } from '../../support/pool.js';
import { kept, plugin } from '../../support/plugin.js';

describe('utilization-detector', () => {
  it('computes the reference shedding example: mean(max(1.2,.625), max(.4,1.125)) = 1.1625', () => {
    const pool = makePool([{ q: 6, kv: 0.5 }, { q: 2, kv: 0.9 }]);
    const d = plugin<UtilizationDetector>('utilization-detector', pool);
    expect(d.saturation(pool, [0, 1], 2, pool.clock.now())).toBeCloseTo(1.1625, 10);
  });
  it('counts stale metrics as saturated and no candidates as saturated', () => {
    const pool = makePool([{ q: 0, kv: 0 }]);
    const d = plugin<UtilizationDetector>('utilization-detector', pool, { metricsStalenessThreshold: '100ms' });
    expect(d.saturation(pool, [0], 1, pool.clock.now())).toBe(0);
    expect(d.saturation(pool, [0], 1, pool.clock.now() + 101)).toBe(1);
    expect(d.saturation(pool, [], 0, pool.clock.now())).toBe(1);
  });
  it('filters to endpoints under the thresholds, failing open when none are', () => {
    const pool = makePool([{ q: 1, kv: 0.1 }, { q: 9, kv: 0.1 }, { q: 1, kv: 0.95 }]);
    expect(kept(plugin('utilization-detector', pool), pool)).toEqual(['pod-0']);
    const busy = makePool([{ q: 9 }, { q: 9 }]);
    expect(kept(plugin('utilization-detector', busy), busy)).toEqual(['pod-0', 'pod-1']);
  });
  it('rejects bad durations', () => {
    expect(() => plugin('utilization-detector', makePool([]), { metricsStalenessThreshold: 'soon' })).toThrow(/duration/);
  });
});

describe('utilization-detector: requests not yet in the metrics', () => {
  it('counts requests sent since the last scrape and still in flight as waiting, unless countUnscraped is false', () => {
    const pool = makePool([{ q: 2, kv: 0.1 }]);
    for (let i = 0; i < 4; i++) pool.dispatch(0, 1);
    pool.complete(pool.atSlot(0)!, 1);
    const now = pool.clock.now();
    expect(plugin<UtilizationDetector>('utilization-detector', pool).saturation(pool, [0], 1, now)).toBeCloseTo(1, 10);
    expect(plugin<UtilizationDetector>('utilization-detector', pool, { countUnscraped: false }).saturation(pool, [0], 1, now)).toBeCloseTo(0.4, 10);
  });
  it('adds pending requests as 1/queueDepthThreshold each, spread over the candidates', () => {
    const pool = makePool([{ q: 0 }, { q: 0 }]);
    const d = plugin<UtilizationDetector>('utilization-detector', pool);
    expect(d.saturation(pool, [0, 1], 2, pool.clock.now(), 10)).toBeCloseTo(1, 10);
    expect(d.saturation(pool, [0, 1], 2, pool.clock.now(), 4)).toBeCloseTo(0.4, 10);
  });
});
