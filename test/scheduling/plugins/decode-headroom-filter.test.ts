import { describe, expect, it } from 'vitest';
import type { Filter } from '../../../src/scheduling/framework/plugin.js';
import type { EndpointPool } from '../../../src/pool/pool.js';
import { makePool, snapshot, type PodMetrics } from '../../support/pool.js';
import { allCandidates, cycle, kept, plugin } from '../../support/plugin.js';
import { request, schedulerFor } from '../../support/scheduling.js';
import { Candidates } from '../../../src/scheduling/framework/plugin.js';
import { PREFIX_MATCH } from '../../../src/scheduling/framework/prefix-match.js';

/** A pool with the given scrapes, then observed TPOT (ms) and preemption rates (per s) per pod. */
function pool(pods: PodMetrics[], tpot: number[] = [], preempt: number[] = []): EndpointPool {
  const p = makePool(pods);
  p.endpoints().forEach((ep, i) => {
    p.signal.tpot[ep.slot] = tpot[i] ?? 0;
    p.signal.preemptions[ep.slot] = preempt[i] ?? 0;
  });
  return p;
}

/**
 * What `f` keeps for a request of `inputTokens` prompt tokens when pool `p`'s first endpoint holds
 * `fraction` of it and the prefix scorer says whether the prefix is `hot` (wanting `wanted` holders).
 */
function keptWithMatch(p: EndpointPool, f: Filter, inputTokens: number, fraction: number, hot: boolean, wanted = hot ? 2 : 1): (string | undefined)[] {
  const [holder] = p.endpoints();
  const c = cycle(p, { ...request('m'), inputTokens });
  c.set(PREFIX_MATCH, { fraction: (s) => (s === holder.slot ? fraction : 0), hot: () => hot, wanted: () => wanted });
  const out = new Candidates(p.capacity);
  f.filter(c, allCandidates(p), out);
  return [...out.slots.subarray(0, out.length)].map((s) => p.atSlot(s)?.name);
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
    // KV units: mean blocks 19,967; loads 6 x 0.69 = 4.1, 4.1 and 2 x 10.5 = 21.0 (mean 9.8, bound 19.5).
    { name: 'loadUnit: kv weighs a small-KV pod\'s requests by the mean size over its own', pods: [{ running: 6, numBlocks: 29_000 }, { running: 6, numBlocks: 29_000 }, { running: 2, numBlocks: 1_900 }], params: { loadUnit: 'kv' }, want: ['pod-0', 'pod-1'] },
    { name: 'requests (the parameter\'s default) count the same pods one each', pods: [{ running: 6, numBlocks: 29_000 }, { running: 6, numBlocks: 29_000 }, { running: 2, numBlocks: 1_900 }], want: ['pod-0', 'pod-1', 'pod-2'] },
    { name: 'loadUnit: kv with a size unreported falls back to request counts', pods: [{ running: 6, numBlocks: 29_000 }, { running: 6, numBlocks: 29_000 }, { running: 2 }], params: { loadUnit: 'kv' }, want: ['pod-0', 'pod-1', 'pod-2'] },
    // Equal sizes: the same loads as plain counts (0, 4, 30 as above).
    { name: 'loadUnit: kv on equal sizes is plain request counts', pods: [{ running: 0, numBlocks: 500 }, { q: 1, running: 3, numBlocks: 500 }, { q: 10, running: 20, numBlocks: 500 }], params: { loadUnit: 'kv' }, want: ['pod-0', 'pod-1'] },
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
    expect(() => plugin<Filter>('decode-headroom-filter', p, { loadUnit: 'tokens' })).toThrow(/loadUnit/);
  });

  it('affinityTokens: a holder of the prompt may carry one more request per that many matched tokens', () => {
    // loads 14, 2, 2: bound max(6 x 1.5, 2 + 4) = 9. The holder matches all 8,000 prompt tokens.
    const p = pool([{ running: 14 }, { running: 2 }, { running: 2 }]);
    const withMatch = (f: Filter, fraction: number, hot = false) => keptWithMatch(p, f, 8000, fraction, hot);
    const params = { slack: 0.5, minSlack: 4 };
    // 8,000 / 1,000 = 8 more: bound 17 for the holder.
    expect(withMatch(plugin<Filter>('decode-headroom-filter', p, { ...params, affinityTokens: 1000 }), 1)).toEqual(['pod-0', 'pod-1', 'pod-2']);
    // Half the prompt matched: 4 more, bound 13 < 14.
    expect(withMatch(plugin<Filter>('decode-headroom-filter', p, { ...params, affinityTokens: 1000 }), 0.5)).toEqual(['pod-1', 'pod-2']);
    // A prefix hot enough to want more holders gets no allowance: it should spread instead.
    expect(withMatch(plugin<Filter>('decode-headroom-filter', p, { ...params, affinityTokens: 1000 }), 1, true)).toEqual(['pod-1', 'pod-2']);
    // Off by default.
    expect(withMatch(plugin<Filter>('decode-headroom-filter', p, params), 1)).toEqual(['pod-1', 'pod-2']);
  });

  it('hotAffinityTokens: the holder of a hot prefix keeps an allowance of its own', () => {
    // loads 14, 2, 2: bound max(6 x 1.5, 2 + 4) = 9. The holder matches all 8,000 prompt tokens.
    const p = pool([{ running: 14 }, { running: 2 }, { running: 2 }]);
    const keptFor = (f: Filter, hot: boolean) => keptWithMatch(p, f, 8000, 1, hot);
    const params = { slack: 0.5, minSlack: 4, affinityTokens: 1000 };
    // Hot: 8,000 / 2,000 = 4 more, bound 13 < 14; at 1,000 tokens, 8 more: bound 17.
    expect(keptFor(plugin<Filter>('decode-headroom-filter', p, { ...params, hotAffinityTokens: 2000 }), true)).toEqual(['pod-1', 'pod-2']);
    expect(keptFor(plugin<Filter>('decode-headroom-filter', p, { ...params, hotAffinityTokens: 1000 }), true)).toEqual(['pod-0', 'pod-1', 'pod-2']);
    // A prefix that is not hot keeps affinityTokens' allowance, whatever hotAffinityTokens says.
    expect(keptFor(plugin<Filter>('decode-headroom-filter', p, { ...params, affinityTokens: 2000, hotAffinityTokens: 1000 }), false)).toEqual(['pod-1', 'pod-2']);
    expect(() => plugin<Filter>('decode-headroom-filter', p, { hotAffinityTokens: -1 })).toThrow(/hotAffinityTokens/);
  });

  it('hotAffinityMaxWanted: the hot allowance holds only while the prefix wants few holders', () => {
    // loads 14, 2, 2: bound max(6 x 1.5, 2 + 4) = 9; 8,000 matched tokens / 1,000 = 8 more for the holder.
    const p = pool([{ running: 14 }, { running: 2 }, { running: 2 }]);
    const f = plugin<Filter>('decode-headroom-filter', p, { slack: 0.5, minSlack: 4, hotAffinityTokens: 1000, hotAffinityMaxWanted: 4 });
    // A prefix that wants 2 or 4 holders: a long prompt shared by about a pod's worth of traffic.
    expect(keptWithMatch(p, f, 8000, 1, true, 2)).toEqual(['pod-0', 'pod-1', 'pod-2']);
    expect(keptWithMatch(p, f, 8000, 1, true, 4)).toEqual(['pod-0', 'pod-1', 'pod-2']);
    // One that wants 5: a hot spot, which spreads under the tight bound.
    expect(keptWithMatch(p, f, 8000, 1, true, 5)).toEqual(['pod-1', 'pod-2']);
    // 0 (the default): any hot prefix.
    const any = plugin<Filter>('decode-headroom-filter', p, { slack: 0.5, minSlack: 4, hotAffinityTokens: 1000 });
    expect(keptWithMatch(p, any, 8000, 1, true, 30)).toEqual(['pod-0', 'pod-1', 'pod-2']);
    expect(() => plugin<Filter>('decode-headroom-filter', p, { hotAffinityMaxWanted: 1.5 })).toThrow(/hotAffinityMaxWanted/);
  });

  it('balanceSlack / balanceMinSlack: a request with no affinity to keep meets the tighter bound', () => {
    // loads 7, 2, 2, 1: mean 3; bound max(3 x 2, 1 + 8) = 9, or max(3 x 1.25, 1 + 2) = 3.75 without affinity.
    const p = pool([{ running: 7 }, { running: 2 }, { running: 2 }, { running: 1 }]);
    const f = plugin<Filter>('decode-headroom-filter', p, { balanceSlack: 0.25, balanceMinSlack: 2 });
    // A later scrape reports an adapter on pod-3 (same load): the filter learns the name.
    const [, , , pod3] = p.endpoints();
    p.recordMetrics(pod3, snapshot({ running: 1, active: ['tenant-lora'], maxLora: 2 }));
    const names = (filter: Filter, model: string, match: { hot: boolean; held: boolean } | null) => {
      const c = cycle(p, request(model));
      if (match !== null) c.set(PREFIX_MATCH, { fraction: (s) => (match.held && s === pod3.slot ? 0.5 : 0), hot: () => match.hot, wanted: () => (match.hot ? 2 : 1) });
      const out = new Candidates(p.capacity);
      filter.filter(c, allCandidates(p), out);
      return [...out.slots.subarray(0, out.length)].map((s) => p.atSlot(s)?.name);
    };
    const all = ['pod-0', 'pod-1', 'pod-2', 'pod-3'];
    // A hot prefix: spreading it is the point.
    expect(names(f, 'm', { hot: true, held: true })).toEqual(['pod-1', 'pod-2', 'pod-3']);
    // A prompt no candidate holds, for the base model: nothing to keep.
    expect(names(f, 'm', { hot: false, held: false })).toEqual(['pod-1', 'pod-2', 'pod-3']);
    // A cold prefix somebody holds, or an adapter request: the plain bound.
    expect(names(f, 'm', { hot: false, held: true })).toEqual(all);
    expect(names(f, 'tenant-lora', { hot: false, held: false })).toEqual(all);
    // No prefix scorer in the profile: the plain bound.
    expect(names(f, 'm', null)).toEqual(all);
    // Unset, they are slack and minSlack.
    expect(names(plugin<Filter>('decode-headroom-filter', p), 'm', { hot: true, held: true })).toEqual(all);
    expect(() => plugin<Filter>('decode-headroom-filter', p, { balanceSlack: -1 })).toThrow(/balanceSlack/);
    expect(() => plugin<Filter>('decode-headroom-filter', p, { balanceMinSlack: 'x' })).toThrow(/balanceMinSlack/);
  });

  it('adapterAllowance: an endpoint running the requested adapter may carry that many more requests', () => {
    // loads 14, 2, 2, 2: mean 5; bound max(5 x 2, 2 + 8) = 10. pod-0 runs hot-lora and is over it.
    const p = pool([{ running: 14 }, { running: 2 }, { running: 2 }, { running: 2 }]);
    const allowed = plugin<Filter>('decode-headroom-filter', p, { adapterAllowance: 4 });
    const fromOne = plugin<Filter>('decode-headroom-filter', p, { adapterAllowance: 4, adapterAllowanceFrom: 1 });
    const off = plugin<Filter>('decode-headroom-filter', p);
    // Later scrapes report the adapters (same loads): the filter learns their names. Three
    // adapters, more than twice the one LoRA slot per pod: spreading hot-lora to another pod
    // would take that pod's only slot.
    const [pod0, pod1, pod2] = p.endpoints();
    p.recordMetrics(pod0, snapshot({ running: 14, active: ['hot-lora'], maxLora: 1 }));
    p.recordMetrics(pod1, snapshot({ running: 2, active: ['other-lora'], maxLora: 1 }));
    p.recordMetrics(pod2, snapshot({ running: 2, active: ['third-lora'], maxLora: 1 }));
    const all = ['pod-0', 'pod-1', 'pod-2', 'pod-3'];
    // 14 <= 10 + 4: the adapter's pod keeps its requests.
    expect(kept(allowed, p, request('hot-lora'))).toEqual(all);
    // Another adapter, or the base model, meets the plain bound there.
    expect(kept(allowed, p, request('other-lora'))).toEqual(['pod-1', 'pod-2', 'pod-3']);
    expect(kept(allowed, p, request('m'))).toEqual(['pod-1', 'pod-2', 'pod-3']);
    // The allowance is bounded: at 15 (mean 5.25, bound 10.5 + 4) the adapter spreads.
    p.recordMetrics(pod0, snapshot({ running: 15, active: ['hot-lora'], maxLora: 1 }));
    expect(kept(allowed, p, request('hot-lora'))).toEqual(['pod-1', 'pod-2', 'pod-3']);
    // With no more than adapterAllowanceFrom (2) x max_lora adapters, the pod holds most of them
    // anyway: no allowance (3 adapters, 2 slots), unless the ratio asked for is lower.
    p.recordMetrics(pod0, snapshot({ running: 14, active: ['hot-lora'], maxLora: 2 }));
    expect(kept(allowed, p, request('hot-lora'))).toEqual(['pod-1', 'pod-2', 'pod-3']);
    expect(kept(fromOne, p, request('hot-lora'))).toEqual(all);
    // max_lora unknown (0): no allowance.
    p.recordMetrics(pod0, snapshot({ running: 14, active: ['hot-lora'] }));
    expect(kept(allowed, p, request('hot-lora'))).toEqual(['pod-1', 'pod-2', 'pod-3']);
    // Off by default.
    p.recordMetrics(pod0, snapshot({ running: 14, active: ['hot-lora'], maxLora: 1 }));
    expect(kept(allowed, p, request('hot-lora'))).toEqual(all);
    expect(kept(off, p, request('hot-lora'))).toEqual(['pod-1', 'pod-2', 'pod-3']);
    expect(() => plugin<Filter>('decode-headroom-filter', p, { adapterAllowance: -1 })).toThrow(/adapterAllowance/);
    expect(() => plugin<Filter>('decode-headroom-filter', p, { adapterAllowanceFrom: 'x' })).toThrow(/adapterAllowanceFrom/);
  });

  it('spillWhenQueued: while every kept endpoint queues, a dropped one with no queue takes requests with no affinity', () => {
    // loads 12, 12, 30 (mean 18): bound max(18 x 1.25, 12 + 2) = 22.5 drops pod-2, which queues nothing.
    const p = pool([{ q: 2, running: 10 }, { q: 2, running: 10 }, { running: 30 }]);
    const [pod0, pod1, pod2] = p.endpoints();
    const ttft = (a: number, b: number, c: number) => {
      p.signal.ttft[pod0.slot] = a;
      p.signal.ttft[pod1.slot] = b;
      p.signal.ttft[pod2.slot] = c;
    };
    const names = (params: Record<string, unknown>, model = 'm', held = false) => {
      const f = plugin<Filter>('decode-headroom-filter', p, { balanceSlack: 0.25, balanceMinSlack: 2, ...params });
      const c = cycle(p, request(model));
      c.set(PREFIX_MATCH, { fraction: (s) => (held && s === pod0.slot ? 0.5 : 0), hot: () => false, wanted: () => 1 });
      const out = new Candidates(p.capacity);
      f.filter(c, allCandidates(p), out);
      return [...out.slots.subarray(0, out.length)].map((s) => p.atSlot(s)?.name);
    };
    const on = { spillWhenQueued: true };
    ttft(100, 200, 140);
    // Off by default.
    expect(names({})).toEqual(['pod-0', 'pod-1']);
    // 140 ms <= 1.5 x the best kept 100 ms: it takes the request.
    expect(names(on)).toEqual(['pod-0', 'pod-1', 'pod-2']);
    // A first token slower than that: its prefill would cost more than the queue.
    ttft(100, 200, 160);
    expect(names(on)).toEqual(['pod-0', 'pod-1']);
    expect(names({ ...on, spillTtftSlack: 1 })).toEqual(['pod-0', 'pod-1', 'pod-2']);
    // Never measured there: it may take a few and find out.
    ttft(100, 200, 0);
    expect(names(on)).toEqual(['pod-0', 'pod-1', 'pod-2']);
    // No kept endpoint measured yet: nothing to weigh it against.
    ttft(0, 0, 0);
    expect(names(on)).toEqual(['pod-0', 'pod-1']);
    ttft(100, 200, 0);
    // A request with affinity to keep (a prefix held by pod-0) stays within the bounds (the same
    // tight bound here, so that only the spill could add pod-2).
    const tight = { ...on, slack: 0.25, minSlack: 2 };
    expect(names(tight, 'm', true)).toEqual(['pod-0', 'pod-1']);
    expect(names(tight)).toEqual(['pod-0', 'pod-1', 'pod-2']);
    // Sent to pod-2 since its last scrape: up to spillUnseen (2) more until the next scrape shows room.
    p.dispatch(pod2.slot, 1);
    p.dispatch(pod2.slot, 1);
    expect(names(on)).toEqual(['pod-0', 'pod-1', 'pod-2']);
    p.dispatch(pod2.slot, 1);
    expect(names(on)).toEqual(['pod-0', 'pod-1']);
    expect(names({ ...on, spillUnseen: 3 })).toEqual(['pod-0', 'pod-1', 'pod-2']);
    for (let i = 0; i < 3; i++) p.complete(pod2, 1);
    expect(names({ ...on, spillUnseen: 0 })).toEqual(['pod-0', 'pod-1', 'pod-2']);
    // A kept endpoint with no queue: no spill.
    p.waiting[pod1.slot] = 0;
    expect(names(on)).toEqual(['pod-0', 'pod-1']);
    expect(() => plugin<Filter>('decode-headroom-filter', p, { spillWhenQueued: 'yes' })).toThrow(/spillWhenQueued/);
    expect(() => plugin<Filter>('decode-headroom-filter', p, { spillTtftSlack: -1 })).toThrow(/spillTtftSlack/);
    expect(() => plugin<Filter>('decode-headroom-filter', p, { spillUnseen: -1 })).toThrow(/spillUnseen/);
  });

  it('reads the match the prefix scorer prepares before the filters, in a built profile', () => {
    const config = (affinity: number) => `
plugins:
- {type: decode-headroom-filter, parameters: {slack: 0.5, minSlack: 4, affinityTokens: ${affinity}}}
- {type: prefix-cache-scorer}
- {type: queue-scorer}
- {type: max-score-picker}
schedulingProfiles:
- name: default
  plugins: [{pluginRef: decode-headroom-filter}, {pluginRef: prefix-cache-scorer, weight: 5}, {pluginRef: queue-scorer, weight: 1}, {pluginRef: max-score-picker}]
`;
    const prompt = 'You are a careful assistant. '.repeat(400);
    const req = { ...request('m', prompt), inputTokens: prompt.length / 4 };
    for (const [affinity, want] of [[200, 'pod-0'], [0, 'pod-1']] as const) {
      // The queue scorer prefers pod-0, then pod-1, then pod-2.
      const p = pool([{ running: 0 }, { q: 1 }, { q: 2 }]);
      const sched = schedulerFor(p, config(affinity));
      const first = sched.schedule(req, null, false);
      expect(first.kind === 'picked' && first.endpoints[0].name).toBe('pod-0');
      // The holder is now far above the others (loads 14, 1, 2): bound max(5.7 x 1.5, 1 + 4) = 8.5,
      // and 3,000 matched tokens / 200 = 15 more for the holder.
      p.running[p.endpoints()[0].slot] = 14;
      const second = sched.schedule(req, null, true);
      expect(second.kind === 'picked' && second.endpoints[0].name).toBe(want);
    }
  });
});

