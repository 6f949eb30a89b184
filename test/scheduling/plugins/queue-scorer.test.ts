import { describe, expect, it } from 'vitest';
import type { Scorer } from '../../../src/scheduling/framework/plugin.js';
import { makePool } from '../../support/pool.js';
import { plugin, scores } from '../../support/plugin.js';

describe('queue-scorer', () => {
  const table = [
    { name: 'min-max over waiting', queues: [3, 0, 10], want: [0.7, 1, 0] },
    { name: 'all equal score 1', queues: [4, 4, 4], want: [1, 1, 1] },
    { name: 'single endpoint scores 1', queues: [9], want: [1] },
  ];
  for (const t of table) {
    it(t.name, () => {
      const pool = makePool(t.queues.map((q) => ({ q })));
      const got = scores(plugin<Scorer>('queue-scorer', pool), pool);
      got.forEach((v, i) => expect(v).toBeCloseTo(t.want[i], 10));
    });
  }

  it('counts dispatches the last scrape cannot have seen, unless told not to', () => {
    const pool = makePool([{ q: 0 }, { q: 0 }]);
    const [a] = pool.endpoints();
    pool.scrapeStarted(a);
    pool.dispatch(a.slot, 10);
    pool.dispatch(a.slot, 10);
    expect(scores(plugin<Scorer>('queue-scorer', pool), pool)).toEqual([0, 1]);
    expect(scores(plugin<Scorer>('queue-scorer', pool, { countUnscraped: false }), pool)).toEqual([1, 1]);
    // A scrape started after the dispatches includes them: they no longer count extra.
    pool.scrapeStarted(a);
    pool.recordMetrics(a, { ...a.metrics!, waitingQueueSize: 2 });
    expect(scores(plugin<Scorer>('queue-scorer', pool), pool)).toEqual([0, 1]);
    pool.recordMetrics(a, { ...a.metrics!, waitingQueueSize: 0 });
    expect(scores(plugin<Scorer>('queue-scorer', pool), pool)).toEqual([1, 1]);
  });
});
