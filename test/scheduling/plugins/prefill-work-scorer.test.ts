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
});
