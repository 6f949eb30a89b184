import { describe, expect, it } from 'vitest';
import type { Picker } from '../../../src/scheduling/framework/plugin.js';
import { makePool, seeded } from '../../support/pool.js';
import { picks, plugin } from '../../support/plugin.js';

describe('weighted-random-picker', () => {
  const pool = makePool([{}, {}, {}]);
  it('never picks a zero score while a positive one exists, and favours higher scores', () => {
    const p = plugin<Picker>('weighted-random-picker', pool);
    const counts = [0, 0, 0];
    const rng = seeded(4);
    for (let i = 0; i < 3000; i++) counts[Number(picks(p, pool, [3, 1, 0], rng)[0].slice(4))]++;
    expect(counts[2]).toBe(0);
    expect(counts[0]).toBeGreaterThan(counts[1] * 2);
  });
  it('falls back to uniform when every score is 0', () => {
    const p = plugin<Picker>('weighted-random-picker', pool);
    const seen = new Set<string>();
    const rng = seeded(5);
    for (let i = 0; i < 100; i++) seen.add(picks(p, pool, [0, 0, 0], rng)[0]);
    expect(seen.size).toBe(3);
  });
  it('returns distinct endpoints best-keyed first', () => {
    const got = picks(plugin<Picker>('weighted-random-picker', pool, { maxNumOfEndpoints: 3 }), pool, [1, 1, 1]);
    expect(new Set(got).size).toBe(3);
  });
});
