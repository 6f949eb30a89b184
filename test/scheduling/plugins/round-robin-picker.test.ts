import { describe, expect, it } from 'vitest';
import type { Picker } from '../../../src/scheduling/framework/plugin.js';
import { makePool } from '../../support/pool.js';
import { picks, plugin } from '../../support/plugin.js';

describe('round-robin-picker', () => {
  it('cycles through the candidates whatever the scores', () => {
    const pool = makePool([{}, {}, {}]);
    const p = plugin<Picker>('round-robin-picker', pool);
    const got = Array.from({ length: 6 }, () => picks(p, pool, [9, 0, 0])[0]);
    expect(got).toEqual(['pod-0', 'pod-1', 'pod-2', 'pod-0', 'pod-1', 'pod-2']);
  });
  it('returns the next endpoints as the fallback list', () => {
    const pool = makePool([{}, {}, {}]);
    const p = plugin<Picker>('round-robin-picker', pool, { maxNumOfEndpoints: 2 });
    expect(picks(p, pool, [0, 0, 0])).toEqual(['pod-0', 'pod-1']);
    expect(picks(p, pool, [0, 0, 0])).toEqual(['pod-1', 'pod-2']);
  });
});
