import { describe, expect, it } from 'vitest';
import type { PrefixCacheScorer } from '../../../src/scheduling/plugins/prefix-cache-scorer/index.js';
import type { Scorer } from '../../../src/scheduling/framework/plugin.js';
import { makePool } from '../../support/pool.js';
import { allCandidates, cycle, plugin } from '../../support/plugin.js';
import { request } from '../../support/scheduling.js';

describe('prefill-work-scorer', () => {
  it('scores S / (S + pending + own uncached prompt)', () => {
    const pool = makePool([{}, {}, { q: 2 }]);
    pool.addPrefill(1, 1000);
    const s = plugin<Scorer>('prefill-work-scorer', pool, { tokensScale: 1000, queuedPromptTokens: 500 });
    const req = { ...request('m'), inputTokens: 1000 };
    const out = new Float64Array(3);
    s.score(cycle(pool, req), allCandidates(pool), out);
    expect([...out]).toEqual([0.5, 1000 / 3000, 1000 / 3000]);
  });

  it('counts only the uncached part of the prompt where the prefix scorer found a match', () => {
    const pool = makePool([{}, {}]);
    const prefix = plugin<PrefixCacheScorer>('prefix-cache-scorer', pool, { autoTune: false, blockSizeTokens: 1 });
    const work = plugin<Scorer>('prefill-work-scorer', pool, { tokensScale: 100 });
    const prompt = 'abcdefgh'; // 2 blocks of 4 bytes
    const first = cycle(pool, { ...request('m', prompt), inputTokens: 100 });
    prefix.score(first, allCandidates(pool), new Float64Array(2));
    prefix.preRequest(first, Int32Array.of(0), 1);
    const c = cycle(pool, { ...request('m', prompt), inputTokens: 100 });
    prefix.score(c, allCandidates(pool), new Float64Array(2));
    const out = new Float64Array(2);
    work.score(c, allCandidates(pool), out);
    expect([...out]).toEqual([1, 0.5]);
  });

  it('moves pending work from dispatch to the first response byte', () => {
    const pool = makePool([{}]);
    const [ep] = pool.endpoints();
    pool.addPrefill(ep.slot, 300);
    expect(pool.pendingPrefill[ep.slot]).toBe(300);
    pool.removePrefill(ep, 300);
    pool.removePrefill(ep, 300);
    expect(pool.pendingPrefill[ep.slot]).toBe(0);
  });

  it('in time units weighs each endpoint\'s work by its observed cost: fixed ms + ms per token x (pending + own)', () => {
    const pool = makePool([{}, {}, {}]);
    // Endpoint 0 a fast pod (1 ms + 0.02 ms/token), 1 a slow one (40 ms + 0.3 ms/token), 2 not measured yet.
    pool.signal.prefillMs.set([1, 40, 0]);
    pool.signal.prefillMsPerToken.set([0.02, 0.3, 0]);
    pool.addPrefill(0, 4000);
    const s = plugin<Scorer>('prefill-work-scorer', pool, { tokensScale: 1000, unit: 'time' });
    const out = new Float64Array(3);
    s.score(cycle(pool, { ...request('m'), inputTokens: 1000 }), allCandidates(pool), out);
    const T = 1000 * 0.02; // the scale in ms: S tokens at the fastest measured endpoint's cost
    expect(out[0]).toBeCloseTo(T / (T + 1 + 0.02 * 5000), 12);
    expect(out[1]).toBeCloseTo(T / (T + 40 + 0.3 * 1000), 12);
    expect(out[2]).toBeCloseTo(T / (T + 20.5 + 0.16 * 1000), 12); // unmeasured: the mean of the measured
    // 5,000 tokens on the fast pod still beat 1,000 on the slow one; in token units they would not.
    expect(out[0]).toBeGreaterThan(out[1]);
    const tokens = new Float64Array(3);
    plugin<Scorer>('prefill-work-scorer', pool, { tokensScale: 1000 }).score(cycle(pool, { ...request('m'), inputTokens: 1000 }), allCandidates(pool), tokens);
    expect(tokens[0]).toBeLessThan(tokens[1]);
  });

  it('in time units with nothing measured is the token formula; fixedCost: false leaves out the fixed part', () => {
    const pool = makePool([{}, {}]);
    pool.addPrefill(1, 1000);
    const req = { ...request('m'), inputTokens: 1000 };
    const out = new Float64Array(2);
    plugin<Scorer>('prefill-work-scorer', pool, { tokensScale: 1000, unit: 'time' }).score(cycle(pool, req), allCandidates(pool), out);
    expect([...out]).toEqual([0.5, 1000 / 3000]);
    pool.signal.prefillMs.set([500, 0]);
    pool.signal.prefillMsPerToken.set([0.1, 0.1]);
    plugin<Scorer>('prefill-work-scorer', pool, { tokensScale: 1000, unit: 'time', fixedCost: false }).score(cycle(pool, req), allCandidates(pool), out);
    expect(out[0]).toBeCloseTo(0.5, 12);
    expect(() => plugin<Scorer>('prefill-work-scorer', pool, { unit: 'seconds' })).toThrow(/unit/);
  });
});
