import { describe, expect, it } from 'vitest';
import type { Scorer } from '../../../src/scheduling/framework/plugin.js';
import { makePool } from '../../support/pool.js';
import { plugin, scores } from '../../support/plugin.js';

describe('kv-cache-utilization-scorer', () => {
  it('scores 1 - utilization, under both names', () => {
    const pool = makePool([{ kv: 0.2 }, { kv: 0.85 }, { kv: 0 }, { kv: 1 }]);
    for (const type of ['kv-cache-utilization-scorer', 'kv-cache-scorer']) {
      const got = scores(plugin<Scorer>(type, pool), pool);
      [0.8, 0.15, 1, 0].forEach((w, i) => expect(got[i]).toBeCloseTo(w, 10));
    }
  });
});
