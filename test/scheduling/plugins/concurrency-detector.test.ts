import { describe, expect, it } from 'vitest';
import type { ConcurrencyDetector } from '../../../src/scheduling/plugins/concurrency-detector/index.js';
import { makePool } from '../../support/pool.js';
import { kept, plugin } from '../../support/plugin.js';

/** Puts `n` requests of `tokens` estimated tokens in flight on `slot`. */
function load(pool: ReturnType<typeof makePool>, slot: number, n: number, tokens = 1): void {
  for (let i = 0; i < n; i++) pool.dispatch(slot, tokens);
}

describe('concurrency-detector', () => {
  const cases: Array<{ name: string; loads: number[]; want: number }> = [
    { name: 'single endpoint empty', loads: [0], want: 0 },
    { name: 'single endpoint half full', loads: [5], want: 0.5 },
    { name: 'single endpoint full', loads: [10], want: 1 },
    { name: 'mixed load', loads: [10, 0], want: 0.5 },
    { name: 'overloaded', loads: [15, 5], want: 1 },
    { name: 'very overloaded', loads: [15, 15], want: 1.5 },
  ];
  for (const c of cases)
    it(`requests mode: ${c.name} = ${c.want}`, () => {
      const pool = makePool(c.loads.map(() => ({})));
      c.loads.forEach((n, slot) => load(pool, slot, n));
      const d = plugin<ConcurrencyDetector>('concurrency-detector', pool, { maxConcurrency: 10 });
      expect(d.saturation(pool, c.loads.map((_, i) => i), c.loads.length, 0)).toBeCloseTo(c.want, 10);
    });

  it('fails closed without candidates and counts pending requests', () => {
    const pool = makePool([{}, {}]);
    const d = plugin<ConcurrencyDetector>('concurrency-detector', pool, { maxConcurrency: 10 });
    expect(d.saturation(pool, [], 0, 0)).toBe(1);
    load(pool, 0, 5);
    expect(d.saturation(pool, [0, 1], 2, 0, 15)).toBe(1);
  });

  it('drops a finished request from the load', () => {
    const pool = makePool([{}]);
    const d = plugin<ConcurrencyDetector>('concurrency-detector', pool, { maxConcurrency: 1 });
    load(pool, 0, 1);
    expect(d.saturation(pool, [0], 1, 0)).toBe(1);
    pool.complete(pool.atSlot(0)!, 1);
    expect(d.saturation(pool, [0], 1, 0)).toBe(0);
  });

  it('tokens mode: estimated tokens against maxTokenConcurrency, pending tokens included', () => {
    const pool = makePool([{}, {}]);
    const d = plugin<ConcurrencyDetector>('concurrency-detector', pool, { concurrencyMode: 'tokens', maxTokenConcurrency: 100 });
    load(pool, 0, 5, 10);
    expect(d.saturation(pool, [0], 1, 0)).toBeCloseTo(0.5, 10);
    expect(d.saturation(pool, [0, 1], 2, 0)).toBeCloseTo(0.25, 10);
    expect(d.saturation(pool, [0, 1], 2, 0, 1, 150)).toBeCloseTo(1, 10);
  });

  it('filters endpoints at the burst limit capacity·(1+headroom), without failing open', () => {
    const pool = makePool([{}, {}]);
    const d = plugin<ConcurrencyDetector>('concurrency-detector', pool, { maxConcurrency: 50, headroom: 0.2 });
    load(pool, 0, 59);
    expect(kept(d, pool)).toEqual(['pod-0', 'pod-1']);
    load(pool, 0, 1);
    expect(kept(d, pool)).toEqual(['pod-1']);
    load(pool, 1, 60);
    expect(kept(d, pool)).toEqual([]);
  });

  it('rejects bad parameters', () => {
    const pool = makePool([]);
    expect(() => plugin('concurrency-detector', pool, { maxConcurrency: 0 })).toThrow(/maxConcurrency must be >= 1/);
    expect(() => plugin('concurrency-detector', pool, { maxTokenConcurrency: 0 })).toThrow(/maxTokenConcurrency/);
    expect(() => plugin('concurrency-detector', pool, { headroom: -0.5 })).toThrow(/headroom/);
    expect(() => plugin('concurrency-detector', pool, { concurrencyMode: 'magic' })).toThrow(/concurrencyMode must be one of requests, tokens/);
    expect(() => plugin('concurrency-detector', pool, { maxConcurrency: 'invalid' })).toThrow(/must be a number/);
  });
});
