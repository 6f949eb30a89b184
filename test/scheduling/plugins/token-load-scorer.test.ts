import { describe, expect, it } from 'vitest';
import type { Scorer } from '../../../src/scheduling/framework/plugin.js';
import { makePool } from '../../support/pool.js';
import { plugin, scores } from '../../support/plugin.js';

describe('token-load-scorer', () => {
  it('scores 1 - min(tokens, T) / T', () => {
    const pool = makePool([{}, {}, {}]);
    const [a, b] = pool.endpoints();
    pool.dispatch(a.slot, 500);
    pool.dispatch(b.slot, 5000);
    expect(scores(plugin<Scorer>('token-load-scorer', pool, { queueThresholdTokens: 1000 }), pool)).toEqual([0.5, 0, 1]);
  });
});
