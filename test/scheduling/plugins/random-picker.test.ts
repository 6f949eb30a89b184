import { describe, expect, it } from 'vitest';
import type { Picker } from '../../../src/scheduling/framework/plugin.js';
import { makePool, seeded } from '../../support/pool.js';
import { picks, plugin } from '../../support/plugin.js';

describe('random-picker', () => {
  const pool = makePool([{}, {}, {}, {}]);
  it('ignores scores and spreads picks', () => {
    const p = plugin<Picker>('random-picker', pool);
    const seen = new Set<string>();
    const rng = seeded(2);
    for (let i = 0; i < 200; i++) seen.add(picks(p, pool, [100, 0, 0, 0], rng)[0]);
    expect(seen.size).toBe(4);
  });
  it('returns distinct endpoints for a fallback list', () => {
    const got = picks(plugin<Picker>('random-picker', pool, { maxNumOfEndpoints: 4 }), pool, [0, 0, 0, 0]);
    expect(new Set(got).size).toBe(4);
  });
});
