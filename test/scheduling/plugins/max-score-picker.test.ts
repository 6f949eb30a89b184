import { describe, expect, it } from 'vitest';
import type { Picker } from '../../../src/scheduling/framework/plugin.js';
import { makePool, seeded } from '../../support/pool.js';
import { picks, plugin } from '../../support/plugin.js';

describe('max-score-picker', () => {
  const pool = makePool([{}, {}, {}, {}]);
  it('picks the highest total', () => {
    expect(picks(plugin<Picker>('max-score-picker', pool), pool, [0.1, 2.5, 0.3, 2.4])).toEqual(['pod-1']);
  });
  it('returns a best-first fallback list with maxNumOfEndpoints', () => {
    expect(picks(plugin<Picker>('max-score-picker', pool, { maxNumOfEndpoints: 3 }), pool, [0.1, 2.5, 0.3, 2.4])).toEqual(['pod-1', 'pod-3', 'pod-2']);
  });
  it('breaks ties uniformly at random', () => {
    const p = plugin<Picker>('max-score-picker', pool, {}, seeded(3));
    const counts = new Map<string, number>();
    const rng = seeded(9);
    for (let i = 0; i < 4000; i++) {
      const [name] = picks(p, pool, [1, 1, 0.5, 1], rng);
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    expect(counts.has('pod-2')).toBe(false);
    for (const n of ['pod-0', 'pod-1', 'pod-3']) expect(counts.get(n)!).toBeGreaterThan(1100);
  });
  it('validates maxNumOfEndpoints', () => {
    expect(() => plugin('max-score-picker', pool, { maxNumOfEndpoints: 0 })).toThrow(/maxNumOfEndpoints must be >= 1/);
    expect(() => plugin('max-score-picker', pool, { maxNumOfEndpoints: 'two' })).toThrow(/must be a number/);
  });
});
