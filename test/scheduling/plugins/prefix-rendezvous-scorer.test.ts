import { describe, expect, it } from 'vitest';
import { EndpointPool } from '../../../src/pool/pool.js';
import { makePool, ManualClock, snapshot, type PodMetrics } from '../../support/pool.js';
import { plugin, scores } from '../../support/plugin.js';
import { request } from '../../support/scheduling.js';
import { PREFIX_RENDEZVOUS_SCORER, type PrefixRendezvousScorer } from '../../../src/scheduling/plugins/prefix-rendezvous-scorer/index.js';

/** A prompt of `chars` characters that is unique for `id`. */
const text = (id: string, chars = 400) => (id + ' ').repeat(Math.ceil(chars / (id.length + 1))).slice(0, chars);

/** A pool of endpoints `10.0.0.<i>:8000` added in the given order, with metrics. */
function poolOf(order: number[], metrics: (i: number) => PodMetrics = () => ({})): EndpointPool {
  const pool = new EndpointPool(new ManualClock());
  for (const i of order) {
    const ep = pool.upsert({ name: `pod-${i}`, address: `10.0.0.${i}`, port: 8000 });
    pool.recordMetrics(ep, snapshot(metrics(i)));
  }
  return pool;
}

function choose(scorer: PrefixRendezvousScorer, pool: EndpointPool, prompt: string): string | null {
  const s = scores(scorer, pool, request('m', prompt));
  const k = s.indexOf(1);
  return k < 0 ? null : pool.endpoints()[k].name;
}

const make = (pool: EndpointPool, params: Record<string, unknown> = {}) => plugin<PrefixRendezvousScorer>(PREFIX_RENDEZVOUS_SCORER, pool, params);

describe('prefix-rendezvous-scorer', () => {
  it('gives the same home on every replica, whatever order they learned the endpoints in', () => {
    const a = poolOf([0, 1, 2, 3, 4]);
    const b = poolOf([3, 1, 4, 0, 2]);
    const sa = make(a);
    const sb = make(b);
    for (let i = 0; i < 50; i++) expect(choose(sa, a, text(`prompt-${i}`))).toBe(choose(sb, b, text(`prompt-${i}`)));
  });

  it('scores exactly one candidate 1 and the rest 0', () => {
    const pool = poolOf([0, 1, 2]);
    const s = scores(make(pool), pool, request('m', text('x')));
    expect(s.filter((v) => v === 1)).toHaveLength(1);
    expect(s.filter((v) => v === 0)).toHaveLength(2);
  });

  it('spreads distinct prefixes over all endpoints', () => {
    const pool = poolOf([0, 1, 2, 3, 4]);
    const scorer = make(pool);
    const counts = new Map<string, number>();
    for (let i = 0; i < 500; i++) {
      const c = choose(scorer, pool, text(`distinct-${i}`))!;
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect(counts.size).toBe(5);
    // 100 expected each; rendezvous hashing is uniform, so none is far off.
    for (const n of counts.values()) expect(n).toBeGreaterThan(60);
  });

  it('keeps a shared prefix together: prompts that agree on the first checkpoint share a home', () => {
    const pool = poolOf([0, 1, 2, 3]);
    const scorer = make(pool);
    const system = text('you are a helpful assistant', 300);
    const homes = new Set(Array.from({ length: 20 }, (_, i) => choose(scorer, pool, system + text(`question ${i}`, 200))));
    expect(homes.size).toBe(1);
  });

  it('moves only the prefixes homed on an endpoint that leaves', () => {
    const pool = poolOf([0, 1, 2, 3, 4]);
    const scorer = make(pool);
    const before = Array.from({ length: 200 }, (_, i) => choose(scorer, pool, text(`k-${i}`)));
    pool.remove('10.0.0.2:8000');
    const after = Array.from({ length: 200 }, (_, i) => choose(scorer, pool, text(`k-${i}`)));
    let moved = 0;
    before.forEach((h, i) => {
      if (h === 'pod-2') expect(after[i]).not.toBe('pod-2');
      else expect(after[i]).toBe(h);
      if (h !== after[i]) moved++;
    });
    expect(moved).toBe(before.filter((h) => h === 'pod-2').length);
  });

  it('leaves a home that is over the load bound, for the same spill target on every replica', () => {
    const prompt = text('popular system prompt', 2000);
    const idle = poolOf([0, 1, 2, 3]);
    const home = choose(make(idle), idle, prompt)!;
    const hot = Number(home.slice(4));
    const busy = (i: number) => (i === hot ? { running: 20, q: 5 } : { running: 4 });
    const a = poolOf([0, 1, 2, 3], busy);
    const b = poolOf([2, 3, 0, 1], busy);
    const spillA = choose(make(a), a, prompt);
    expect(spillA).not.toBe(home);
    expect(choose(make(b), b, prompt)).toBe(spillA);
  });

  it('stays home under moderate imbalance (within loadFactor × mean + slack)', () => {
    const prompt = text('steady', 1000);
    const idle = poolOf([0, 1, 2, 3]);
    const home = choose(make(idle), idle, prompt)!;
    const hot = Number(home.slice(4));
    const pool = poolOf([0, 1, 2, 3], (i) => ({ running: i === hot ? 12 : 10 }));
    expect(choose(make(pool), pool, prompt)).toBe(home);
  });

  it('counts dispatches not yet in a scrape toward the load', () => {
    const prompt = text('burst', 1000);
    const pool = poolOf([0, 1, 2, 3], () => ({ running: 2 }));
    const scorer = make(pool);
    const home = choose(scorer, pool, prompt)!;
    const ep = pool.endpoints().find((e) => e.name === home)!;
    for (let i = 0; i < 10; i++) pool.dispatch(ep.slot, 100);
    expect(choose(scorer, pool, prompt)).not.toBe(home);
    expect(choose(make(pool, { countUnscraped: false }), pool, prompt)).toBe(home);
  });

  it('avoids a home whose KV cache is over the threshold', () => {
    const prompt = text('kv', 1000);
    const idle = poolOf([0, 1, 2]);
    const home = Number(choose(make(idle), idle, prompt)!.slice(4));
    const pool = poolOf([0, 1, 2], (i) => ({ kv: i === home ? 0.99 : 0.5 }));
    expect(choose(make(pool), pool, prompt)).not.toBe(`pod-${home}`);
  });

  it('gives a LoRA adapter a home of its own, whatever the prompt, on every replica', () => {
    const withAdapter = (i: number) => ({ active: i === 1 ? ['sql-lora'] : [], maxLora: 2 });
    const a = poolOf([0, 1, 2, 3], withAdapter);
    const b = poolOf([3, 2, 1, 0], withAdapter);
    const sa = make(a);
    const homes = new Set(Array.from({ length: 20 }, (_, i) => scores(sa, a, request('sql-lora', text(`q${i}`))).indexOf(1)).map((k) => a.endpoints()[k].name));
    expect(homes.size).toBe(1);
    const home = [...homes][0];
    expect(a.endpoints().map((e) => e.name)).toContain(home);
    const sb = make(b);
    const hb = scores(sb, b, request('sql-lora', text('other question'))).indexOf(1);
    expect(b.endpoints()[hb].name).toBe(home);
    expect(sa.stats().adapter).toBe(20);
    // The base model (no pod lists it as an adapter) keys on the prompt as usual.
    const base = new Set(Array.from({ length: 20 }, (_, i) => scores(sa, a, request('base', text(`q${i}`))).indexOf(1)));
    expect(base.size).toBeGreaterThan(1);
    // Off by parameter.
    const off = make(a, { adapterHome: false });
    expect(new Set(Array.from({ length: 20 }, (_, i) => scores(off, a, request('sql-lora', text(`q${i}`))).indexOf(1))).size).toBeGreaterThan(1);
  });

  it('scores 0 everywhere for a prompt shorter than one block', () => {
    const pool = makePool([{}, {}]);
    const scorer = make(pool);
    expect(scores(scorer, pool, request('m', 'hi'))).toEqual([0, 0]);
    expect(scorer.stats().unkeyed).toBe(1);
  });

  it('keys on the model too: the same prompt for two models may live apart', () => {
    const pool = poolOf([0, 1, 2, 3, 4, 5, 6, 7]);
    const scorer = make(pool);
    const homes = new Set(['a', 'b', 'c', 'd', 'e', 'f'].map((m) => scores(scorer, pool, request(m, text('same prompt'))).indexOf(1)));
    expect(homes.size).toBeGreaterThan(1);
  });

  it('validates its parameters', () => {
    const pool = makePool([{}]);
    expect(() => make(pool, { minKeyTokens: 512, maxKeyTokens: 256 })).toThrow(/maxKeyTokens.*>= minKeyTokens/);
    expect(() => make(pool, { loadFactor: 0.5 })).toThrow(/loadFactor/);
    expect(() => make(pool, { kvThreshold: 2 })).toThrow(/kvThreshold/);
  });
});
