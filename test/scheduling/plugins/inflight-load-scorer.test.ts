import { describe, expect, it } from 'vitest';
import type { Scorer } from '../../../src/scheduling/framework/plugin.js';
import { makePool } from '../../support/pool.js';
import { plugin, scores } from '../../support/plugin.js';

describe('inflight-load-scorer', () => {
  it('min-max over in-flight requests or tokens', () => {
    const pool = makePool([{}, {}, {}]);
    const [a, b] = pool.endpoints();
    pool.dispatch(a.slot, 100);
    pool.dispatch(a.slot, 100);
    pool.dispatch(b.slot, 1000);
    expect(scores(plugin<Scorer>('inflight-load-scorer', pool), pool)).toEqual([0, 0.5, 1]);
    expect(scores(plugin<Scorer>('inflight-load-scorer', pool, { mode: 'tokens' }), pool)).toEqual([0.8, 0, 1]);
    pool.complete(a, 100);
    pool.complete(a, 100);
    expect(scores(plugin<Scorer>('inflight-load-scorer', pool), pool)).toEqual([1, 0, 1]);
  });

  it('rejects an unknown mode', () => {
    expect(() => plugin('inflight-load-scorer', makePool([]), { mode: 'bytes' })).toThrow(/mode must be one of requests, tokens/);
  });
});
