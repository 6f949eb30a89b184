import { describe, expect, it } from 'vitest';
import type { Filter } from '../../../src/scheduling/framework/plugin.js';
import { makePool } from '../../support/pool.js';
import { kept, plugin } from '../../support/plugin.js';

describe('bounded-load-filter', () => {
  const table = [
    { name: 'keeps everything when loads are equal', loads: [[2, 2], [2, 2], [2, 2]], params: {}, want: ['pod-0', 'pod-1', 'pod-2'] },
    // loads 0, 4, 20: mean 8, bound max(10, 0 + 2) = 10
    { name: 'drops endpoints above (1 + slack) x mean', loads: [[0, 0], [1, 3], [10, 10]], params: {}, want: ['pod-0', 'pod-1'] },
    // loads 0, 1, 3: mean 1.33 x 1.25 = 1.67 < min + minSlack = 2
    { name: 'never bounds below min + minSlack', loads: [[0, 0], [0, 1], [1, 2]], params: {}, want: ['pod-0', 'pod-1'] },
    { name: 'slack 0 keeps only what is at or below the mean (and within minSlack of the minimum)', loads: [[0, 4], [0, 6], [0, 8]], params: { slack: 0, minSlack: 0 }, want: ['pod-0', 'pod-1'] },
    { name: 'a single endpoint always passes', loads: [[50, 50]], params: {}, want: ['pod-0'] },
  ];
  for (const t of table) {
    it(t.name, () => {
      const pool = makePool(t.loads.map(([q, running]) => ({ q, running })));
      expect(kept(plugin<Filter>('bounded-load-filter', pool, t.params), pool)).toEqual(t.want);
    });
  }

  it('counts requests sent since the scrape that are still in flight', () => {
    const pool = makePool([{ q: 0 }, { q: 0 }, { q: 0 }]);
    const [a] = pool.endpoints();
    pool.scrapeStarted(a);
    for (let i = 0; i < 6; i++) pool.dispatch(a.slot, 1);
    // loads 6, 0, 0: mean 2 x 1.25 = 2.5, min + 2 = 2: pod-0 is out.
    expect(kept(plugin<Filter>('bounded-load-filter', pool), pool)).toEqual(['pod-1', 'pod-2']);
    // Finished requests are in no queue: once they complete, pod-0 is back.
    for (let i = 0; i < 6; i++) pool.complete(a, 1);
    expect(kept(plugin<Filter>('bounded-load-filter', pool), pool)).toEqual(['pod-0', 'pod-1', 'pod-2']);
  });

  it('refuses bad parameters', () => {
    const pool = makePool([{ q: 0 }]);
    expect(() => plugin<Filter>('bounded-load-filter', pool, { slack: -1 })).toThrow(/slack/);
  });
});
