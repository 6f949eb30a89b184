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
  describe('near ties (tieMargin)', () => {
    // Scraped queue + batch: pod-0 10, pod-1 4, pod-2 1, pod-3 7; pod-2 is the lightest but scores far below.
    const loaded = makePool([{ q: 2, running: 8 }, { running: 4 }, { running: 1 }, { q: 1, running: 6 }]);
    const totals = [2.0, 1.9, 1.0, 2.05];
    it('is off by default: the highest total wins', () => {
      expect(picks(plugin<Picker>('max-score-picker', loaded), loaded, totals)).toEqual(['pod-3']);
    });
    it('gives a total within the margin of the best to the lightest of them', () => {
      expect(picks(plugin<Picker>('max-score-picker', loaded, { tieMargin: 0.25 }), loaded, totals)).toEqual(['pod-1']);
      // pod-1 is outside a margin of 0.1: the lighter of pod-0 and pod-3 wins.
      expect(picks(plugin<Picker>('max-score-picker', loaded, { tieMargin: 0.1 }), loaded, totals)).toEqual(['pod-3']);
    });
    it('counts our own in-flight requests when the scrape shows fewer', () => {
      const p = makePool([{ running: 1 }, { running: 3 }]);
      for (let i = 0; i < 5; i++) p.dispatch(0, 100);
      expect(picks(plugin<Picker>('max-score-picker', p, { tieMargin: 0.5 }), p, [1, 1])).toEqual(['pod-1']);
    });
    it('weighs loads per KV block when every near-tied size is known, else in requests', () => {
      // pod-0 runs 4 on 1,000 blocks, pod-1 runs 6 on 4,000: per block pod-1 is lighter.
      const mixed = makePool([{ running: 4, numBlocks: 1000 }, { running: 6, numBlocks: 4000 }]);
      expect(picks(plugin<Picker>('max-score-picker', mixed, { tieMargin: 0.5 }), mixed, [1, 1.1])).toEqual(['pod-1']);
      expect(picks(plugin<Picker>('max-score-picker', mixed, { tieMargin: 0.5, tieLoadUnit: 'requests' }), mixed, [1, 1.1])).toEqual(['pod-0']);
      const unknown = makePool([{ running: 4, numBlocks: 1000 }, { running: 6 }]);
      expect(picks(plugin<Picker>('max-score-picker', unknown, { tieMargin: 0.5 }), unknown, [1, 1.1])).toEqual(['pod-0']);
    });
    it('with tieScope no-affinity, needs a prefix match saying the prompt is held nowhere', () => {
      // This cycle has no prefix scorer's match: nothing says the request lacks affinity.
      expect(picks(plugin<Picker>('max-score-picker', loaded, { tieMargin: 0.25, tieScope: 'no-affinity' }), loaded, totals)).toEqual(['pod-3']);
    });
    it('puts the near-tie winner first in a fallback list, the rest best first', () => {
      expect(picks(plugin<Picker>('max-score-picker', loaded, { tieMargin: 0.25, maxNumOfEndpoints: 3 }), loaded, totals)).toEqual(['pod-1', 'pod-3', 'pod-0']);
    });
    it('validates its parameters', () => {
      expect(() => plugin('max-score-picker', loaded, { tieMargin: -1 })).toThrow(/tieMargin must be >= 0/);
      expect(() => plugin('max-score-picker', loaded, { tieLoadUnit: 'tokens' })).toThrow(/tieLoadUnit/);
      expect(() => plugin('max-score-picker', loaded, { tieScope: 'some' })).toThrow(/tieScope/);
    });
  });
  it('validates maxNumOfEndpoints', () => {
    expect(() => plugin('max-score-picker', pool, { maxNumOfEndpoints: 0 })).toThrow(/maxNumOfEndpoints must be >= 1/);
    expect(() => plugin('max-score-picker', pool, { maxNumOfEndpoints: 'two' })).toThrow(/must be a number/);
  });
});
