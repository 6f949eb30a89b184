import { describe, expect, it } from 'vitest';
import type { Filter } from '../../../src/scheduling/framework/plugin.js';
import type { EndpointPool } from '../../../src/pool/pool.js';
import { makePool, type PodMetrics } from '../../support/pool.js';
import { kept, plugin } from '../../support/plugin.js';

/** A pool with the given scrapes, then observed TPOT (ms) and preemption rates (per s) per pod. */
function pool(pods: PodMetrics[], tpot: number[] = [], preempt: number[] = []): EndpointPool {
  const p = makePool(pods);
  p.endpoints().forEach((ep, i) => {
    p.signal.tpot[ep.slot] = tpot[i] ?? 0;
    p.signal.preemptions[ep.slot] = preempt[i] ?? 0;
  });
  return p;
}

describe('decode-headroom-filter', () => {
  const table = [
    { name: 'keeps everything when loads are equal', pods: [{ running: 4 }, { running: 4 }, { running: 4 }], want: ['pod-0', 'pod-1', 'pod-2'] },
    // loads 0, 4, 30: mean 11.3 x 2 = 22.7
    { name: 'drops endpoints above the bounded load', pods: [{ running: 0 }, { q: 1, running: 3 }, { q: 10, running: 20 }], want: ['pod-0', 'pod-1'] },
    // slack 0: loads 0, 7, 9: mean 5.3 < min + minSlack = 8
    { name: 'never bounds below min + minSlack', pods: [{ running: 0 }, { running: 7 }, { running: 9 }], params: { slack: 0 }, want: ['pod-0', 'pod-1'] },
    // Equal-ish loads, pod-1 decodes 3x slower than the fastest known: out. pod-2 is unknown: in.
    { name: 'drops a pod whose decode is slowing', pods: [{ running: 4 }, { running: 5 }, { running: 5 }], tpot: [20, 60, 0], want: ['pod-0', 'pod-2'] },
    { name: 'keeps a slow pod that carries the least load (a slower accelerator keeps its share)', pods: [{ running: 3 }, { running: 4 }], tpot: [60, 20], want: ['pod-0', 'pod-1'] },
    { name: 'TPOT within tpotSlack is no reason', pods: [{ running: 4 }, { running: 5 }], tpot: [20, 39], want: ['pod-0', 'pod-1'] },
    { name: 'preemptions: true drops an above-average pod that preempts while another is calm', pods: [{ running: 4 }, { running: 5 }], preempt: [0, 0.5], params: { preemptions: true }, want: ['pod-0'] },
    { name: 'keeps preempting pods when every pod preempts', pods: [{ running: 4 }, { running: 5 }], preempt: [0.2, 0.5], params: { preemptions: true }, want: ['pod-0', 'pod-1'] },
    { name: 'preemptions are no reason by default', pods: [{ running: 4 }, { running: 5 }], preempt: [0, 0.5], want: ['pod-0', 'pod-1'] },
    // loads 4, 5, 9 (mean 6): pod-1 is slow but below the mean; pod-2 slow and above it.
    { name: 'slowAbove: mean spares a slow pod below the mean load', pods: [{ running: 4 }, { running: 5 }, { running: 9 }], tpot: [20, 60, 60], params: { slowAbove: 'mean' }, want: ['pod-0', 'pod-1'] },
    { name: 'a single endpoint always passes', pods: [{ q: 50, running: 50 }], tpot: [500], preempt: [3], params: { preemptions: true }, want: ['pod-0'] },
  ];
  for (const t of table) {
    it(t.name, () => {
      const p = pool(t.pods, t.tpot, t.preempt);
      expect(kept(plugin<Filter>('decode-headroom-filter', p, t.params ?? {}), p)).toEqual(t.want);
    });
  }

  it("uses this picker's in-flight count when the scrape has not caught up", () => {
    const p = pool([{ running: 0 }, { running: 0 }, { running: 0 }]);
    const [a] = p.endpoints();
    // Sent before the scrape was requested: the scrape should have them, but our count is larger.
    // loads 10, 0, 0: mean 3.3 x 2 = 6.7 < min + 8 = 8
    for (let i = 0; i < 10; i++) p.dispatch(a.slot, 1);
    p.scrapeStarted(a);
    expect(kept(plugin<Filter>('decode-headroom-filter', p), p)).toEqual(['pod-1', 'pod-2']);
    for (let i = 0; i < 10; i++) p.complete(a, 1);
    expect(kept(plugin<Filter>('decode-headroom-filter', p), p)).toEqual(['pod-0', 'pod-1', 'pod-2']);
  });

  it('a hot prefix spreads and contracts: the holder passes again once its load falls', () => {
    const p = pool([{ running: 30 }, { running: 4 }, { running: 3 }]);
    const f = plugin<Filter>('decode-headroom-filter', p);
    expect(kept(f, p)).toEqual(['pod-1', 'pod-2']);
    const [holder] = p.endpoints();
    p.running[holder.slot] = 5;
    expect(kept(f, p)).toEqual(['pod-0', 'pod-1', 'pod-2']);
  });

  it('refuses bad parameters', () => {
    const p = pool([{}]);
    expect(() => plugin<Filter>('decode-headroom-filter', p, { slack: -1 })).toThrow(/slack/);
    expect(() => plugin<Filter>('decode-headroom-filter', p, { tpotSlack: 'x' })).toThrow(/tpotSlack/);
    expect(() => plugin<Filter>('decode-headroom-filter', p, { slowAbove: 'max' })).toThrow(/slowAbove/);
  });
});
